"""Device IDs: canonical form, the grouped form people compare, and parsing of either.

A device ID is the SHA-256 of the device certificate's public key (SubjectPublicKeyInfo DER),
base32 encoded (RFC 4648 alphabet, upper case, no padding): 52 characters.
"""

import base64
import hashlib
import re

from kizuna_server.errors import InvalidArgument

DEVICE_ID_LENGTH = 52
_GROUP = 4
_CANONICAL = re.compile(r"[A-Z2-7]{52}")


def device_id_from_public_key_der(spki_der: bytes) -> str:
    """Returns the canonical device ID for a SubjectPublicKeyInfo DER encoding."""
    digest = hashlib.sha256(spki_der).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def format_device_id(device_id: str) -> str:
    """Groups a canonical ID in fours for people to read: ``ABCD-EFGH-...``."""
    return "-".join(device_id[i : i + _GROUP] for i in range(0, len(device_id), _GROUP))


def parse_device_id(text: str, *, field: str = "peer_id") -> str:
    """Accepts the canonical or grouped form, any case, and returns the canonical form.

    >>> parse_device_id("abcd-" * 12 + "efgh") == "ABCD" * 12 + "EFGH"
    True
    """
    candidate = re.sub(r"[\s-]", "", text).upper()
    if not _CANONICAL.fullmatch(candidate):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise InvalidArgument(
            f"{field}: {shown!r} is not a device ID (52 base32 characters, dashes optional)",
            field=field,
        )
    return candidate


def short_device_id(device_id: str) -> str:
    """The first two groups, enough to tell a handful of devices apart in listings."""
    return format_device_id(device_id[: 2 * _GROUP])
