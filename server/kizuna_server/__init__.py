"""Kizuna daemon: local gRPC API, peer discovery and links, transfers, streams and commands.

The package is wired together in `kizuna_server.app`; `kizuna_server.cli` is the `kizuna` command.
"""

__version__ = "0.1.0"

#: Version of the daemon-to-daemon protocol (kizuna.peer.v1) this daemon speaks.
PROTOCOL_VERSION = 1
