"""This device's identity: its P-256 key and self-signed certificate, kept in one private directory.

Also owns what makes any device certificate acceptable, and the ID and fingerprint derived from it.
"""

import logging
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kizuna_server.core.device_id import device_id_from_public_key_der, format_device_id
from kizuna_server.errors import IdentityError
from kizuna_server.files import ensure_private_directory, write_file_atomically

log = logging.getLogger(__name__)

KEY_FILE = "device.key"
CERTIFICATE_FILE = "device.crt"

# Peers enforce validity dates both ways: a notBefore in the past absorbs clock skew between
# devices, and the certificate must never expire under a paired peer (re-pairing is the only fix).
_CLOCK_SKEW = timedelta(days=1)
_NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

_NEW_IDENTITY_HINT = (
    "or move the identity directory away to create a new identity — peers will have to pair again"
)


@dataclass(frozen=True)
class Identity:
    """This device's key and certificate, in parsed and PEM form, and the ID they give it."""

    device_id: str
    """Canonical ID: SHA-256 of the certificate's SubjectPublicKeyInfo DER, base32."""
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate_pem: bytes = field(repr=False)
    private_key_pem: bytes = field(repr=False)
    """PKCS8, unencrypted: the file's mode (0600) is its protection."""

    @cached_property
    def device_id_display(self) -> str:
        """The ID grouped in fours, for people to compare."""
        return format_device_id(self.device_id)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate DER as ``ab:cd:...``."""
        return certificate_fingerprint(self.certificate)


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate DER, lower-case hex pairs joined by ':'."""
    return certificate.fingerprint(hashes.SHA256()).hex(":")


def device_id_of_certificate(certificate: x509.Certificate) -> str:
    """The canonical device ID of whoever holds this certificate's private key."""
    return device_id_from_public_key_der(_spki_der(certificate.public_key()))


def sign_proof(identity: Identity, message: bytes) -> bytes:
    """This device's proof of key over `message` (ECDSA P-256, SHA-256, DER-encoded)."""
    return identity.private_key.sign(message, ec.ECDSA(hashes.SHA256()))


def proof_holds(certificate: x509.Certificate, proof: bytes, message: bytes) -> bool:
    """Whether `proof` is a signature over `message` by the key of a device `certificate`."""
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not 0 < len(proof) <= _MAX_PROOF_BYTES:
        return False
    try:
        key.verify(proof, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


#: A DER ECDSA P-256 signature is at most 72 bytes.
_MAX_PROOF_BYTES = 80


def check_device_certificate(certificate: x509.Certificate) -> None:
    """Raises IdentityError unless `certificate` is a leaf device certificate.

    A peer's certificate becomes a trust root on our side, so a certificate that can sign could
    mint certificates carrying other devices' IDs and be accepted as them: it must not be a CA
    and its KeyUsage must allow digitalSignature only. The key must be P-256 (Ed25519 fails
    between gRPC ends), and the SAN must carry the ID because peer links use it as target name.
    """
    key = certificate.public_key()
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
        raise IdentityError(
            f"the certificate holds {_describe_key(key)} key; device keys are ECDSA P-256"
        )
    device_id = device_id_of_certificate(certificate)
    try:
        extensions = certificate.extensions
    except ValueError as e:
        raise IdentityError(
            f"the certificate of device {device_id} has malformed extensions: {e}"
        ) from e
    try:
        key_usage = extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise IdentityError(
            f"the certificate of device {device_id} has no KeyUsage, so it could sign "
            "certificates for other devices; device certificates allow digitalSignature only"
        ) from None
    if key_usage.key_cert_sign or key_usage.crl_sign:
        raise IdentityError(
            f"the certificate of device {device_id} may sign certificates or CRLs (KeyUsage "
            "keyCertSign/cRLSign); device certificates allow digitalSignature only"
        )
    if not key_usage.digital_signature:
        raise IdentityError(
            f"the certificate of device {device_id} lacks KeyUsage digitalSignature, "
            "which TLS 1.3 needs"
        )
    try:
        constraints = extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        raise IdentityError(
            f"the certificate of device {device_id} is a CA certificate (BasicConstraints "
            "CA:TRUE); device certificates are CA:FALSE"
        )
    try:
        names = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        dns_names: list[str] = []
    else:
        dns_names = names.get_values_for_type(x509.DNSName)
    if device_id.lower() not in (name.lower() for name in dns_names):
        raise IdentityError(
            f"the certificate of device {device_id} does not name {device_id.lower()} "
            "as a DNS subject alternative name, which peer links connect to"
        )


def load_or_create_identity(directory: Path, *, device_name: str, now: datetime) -> Identity:
    """Loads the identity in `directory`, creating it (or a lost certificate) if missing.

    Anything inconsistent raises IdentityError and leaves the files as they are: the key is this
    device's identity towards every paired peer, and only a person may decide to replace it.
    Blocking (file I/O and key generation): call it from a thread.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    key_path = directory / KEY_FILE
    certificate_path = directory / CERTIFICATE_FILE
    # lexists: a dangling link must be reported, not silently replaced by a new identity.
    has_key = os.path.lexists(key_path)
    has_certificate = os.path.lexists(certificate_path)

    if not has_key and not has_certificate:
        identity = _create_identity(directory, ec.generate_private_key(ec.SECP256R1()), now)
        log.info(
            "created a new identity for %r in %s: device ID %s",
            device_name,
            directory,
            identity.device_id_display,
        )
        return identity

    if not has_key:
        raise IdentityError(
            f"{key_path} is missing but {certificate_path} is present; the certificate alone "
            f"cannot prove this device's identity. Restore {KEY_FILE} from a backup, "
            + _NEW_IDENTITY_HINT
        )

    private_key, private_key_pem = _load_private_key(key_path)
    device_id = device_id_from_public_key_der(_spki_der(private_key.public_key()))

    if not has_certificate:
        certificate_pem = _certificate_pem(_build_certificate(private_key, device_id, now))
        ensure_private_directory(directory)
        write_file_atomically(certificate_path, certificate_pem, mode=0o644)
        log.warning(
            "%s was missing: made a new certificate for the existing key; "
            "device ID %s is unchanged",
            certificate_path,
            format_device_id(device_id),
        )
        return _identity(private_key, private_key_pem, certificate_pem)

    certificate, certificate_pem = _load_certificate(certificate_path)
    if _spki_der(certificate.public_key()) != _spki_der(private_key.public_key()):
        raise IdentityError(
            f"{certificate_path} does not belong to {key_path} (their public keys differ). "
            f"If {KEY_FILE} is the right key, delete {CERTIFICATE_FILE} to make a new "
            f"certificate for it (device ID {format_device_id(device_id)}); otherwise restore "
            "both files from a backup, " + _NEW_IDENTITY_HINT
        )
    try:
        check_device_certificate(certificate)
    except IdentityError as e:
        raise IdentityError(
            f"{certificate_path}: {e.message}. Delete {CERTIFICATE_FILE} to make a new "
            "certificate for the same key (the device ID stays the same)"
        ) from e
    return Identity(
        device_id=device_id,
        certificate=certificate,
        private_key=private_key,
        certificate_pem=certificate_pem,
        private_key_pem=private_key_pem,
    )


def _create_identity(
    directory: Path, private_key: ec.EllipticCurvePrivateKey, now: datetime
) -> Identity:
    device_id = device_id_from_public_key_der(_spki_der(private_key.public_key()))
    private_key_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certificate_pem = _certificate_pem(_build_certificate(private_key, device_id, now))
    ensure_private_directory(directory)
    # Key first: a crash in between leaves a key without certificate, which the next start repairs.
    write_file_atomically(directory / KEY_FILE, private_key_pem, mode=0o600)
    write_file_atomically(directory / CERTIFICATE_FILE, certificate_pem, mode=0o644)
    return _identity(private_key, private_key_pem, certificate_pem)


def _identity(
    private_key: ec.EllipticCurvePrivateKey, private_key_pem: bytes, certificate_pem: bytes
) -> Identity:
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    return Identity(
        device_id=device_id_of_certificate(certificate),
        certificate=certificate,
        private_key=private_key,
        certificate_pem=certificate_pem,
        private_key_pem=private_key_pem,
    )


def _build_certificate(
    private_key: ec.EllipticCurvePrivateKey, device_id: str, now: datetime
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kizuna"),
            x509.NameAttribute(NameOID.COMMON_NAME, device_id),
        ]
    )
    public_key = private_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now.astimezone(UTC).replace(microsecond=0) - _CLOCK_SKEW)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(device_id.lower())]), False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(private_key, hashes.SHA256())
    )


def _load_private_key(path: Path) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    restore = f"Restore {KEY_FILE} from a backup, " + _NEW_IDENTITY_HINT
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise IdentityError(f"{path} is not a regular file. {restore}")
        if info.st_mode & 0o077:
            raise IdentityError(
                f"{path} is readable by other users (mode {info.st_mode & 0o777:o}). If nobody "
                f"else can have copied it, run 'chmod 600 {path}'; otherwise move the identity "
                "directory away to create a new identity — peers will have to pair again"
            )
        pem = path.read_bytes()
    except OSError as e:
        raise IdentityError(f"cannot read {path}: {e.strerror}. {restore}") from e
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(pem, password=None)
    except TypeError as e:  # encrypted, and we hold no password
        raise IdentityError(
            f"{path} is encrypted; Kizuna keeps its key unencrypted with mode 0600. "
            f"Replace it with a decrypted copy, {_NEW_IDENTITY_HINT}"
        ) from e
    except (ValueError, UnsupportedAlgorithm) as e:
        raise IdentityError(f"{path} does not hold a readable PEM private key. {restore}") from e
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)):
        raise IdentityError(
            f"{path} holds {_describe_key(key.public_key())} key, but device keys are "
            f"ECDSA P-256. {restore}"
        )
    return key, pem


def _load_certificate(path: Path) -> tuple[x509.Certificate, bytes]:
    regenerate = (
        f"Delete {CERTIFICATE_FILE} to make a new certificate for the same key "
        "(the device ID stays the same)"
    )
    try:
        pem = path.read_bytes()
    except OSError as e:
        raise IdentityError(f"cannot read {path}: {e.strerror}. {regenerate}") from e
    try:
        return x509.load_pem_x509_certificate(pem), pem
    except ValueError as e:
        raise IdentityError(f"{path} does not hold a readable PEM certificate. {regenerate}") from e


def _certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _spki_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _describe_key(key: PublicKeyTypes) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an EC {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"an RSA-{key.key_size}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "an Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "an Ed448"
    return f"a {type(key).__name__.removesuffix('PublicKey')}"
