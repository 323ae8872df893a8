"""I/O with other devices: identity (certificates), discovery (mDNS) and peer links."""
