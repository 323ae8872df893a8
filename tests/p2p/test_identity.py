"""Tests for the device identity: files and modes, the certificate's contents, refusals on bad
files (which stay untouched), and that two identities really authenticate each other over TLS.
"""

import asyncio
import base64
import hashlib
import logging
import os
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from kizuna_server.core.pairing import Request, introduce_proof_message, start_proof_message
from kizuna_server.errors import IdentityError
from kizuna_server.p2p.identity import (
    Identity,
    certificate_fingerprint,
    check_device_certificate,
    device_id_of_certificate,
    load_or_create_identity,
    proof_holds,
    sign_proof,
)

NOW = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
IO_TIMEOUT = 10.0


@pytest.fixture
def umask_022() -> Iterator[None]:
    """A known umask, so the certificate's mode is predictable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _load(directory: Path, *, now: datetime = NOW, device_name: str = "laptop") -> Identity:
    return load_or_create_identity(directory, device_name=device_name, now=now)


def _snapshot(directory: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry in `directory` (temporary files too) with its mode and content or link."""
    entries: dict[str, tuple[int, bytes | str]] = {}
    for path in directory.iterdir():
        info = path.lstat()
        content = os.readlink(path) if path.is_symlink() else path.read_bytes()
        entries[path.name] = (info.st_mode, content)
    return entries


def _pkcs8(key: CertificateIssuerPrivateKeyTypes, *, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _key_usage(*, digital_signature: bool = True, **others: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        [
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ],
        False,
    )
    flags.update(others)
    return x509.KeyUsage(digital_signature=digital_signature, **flags)


def _certificate(
    key: CertificateIssuerPrivateKeyTypes,
    *,
    key_usage: x509.KeyUsage | None,
    ca: bool | None = False,
    san: str | None = "",
) -> x509.Certificate:
    """A self-signed certificate for `key`; `san=""` means the key's device ID in lower case."""
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    device_id = _independent_device_id(spki)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    )
    if san is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(san or device_id.lower())]), critical=False
        )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)


def _independent_device_id(spki_der: bytes) -> str:
    return base64.b32encode(hashlib.sha256(spki_der).digest()).decode().rstrip("=")


# --- files ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("umask_022")
def test_first_start_creates_private_key_and_certificate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "data" / "identity"
    caplog.set_level(logging.INFO, logger="kizuna_server.p2p.identity")

    identity = _load(directory, device_name="kitchen tablet")

    assert sorted(p.name for p in directory.iterdir()) == ["device.crt", "device.key"]
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / "device.key").stat().st_mode & 0o777 == 0o600
    assert (directory / "device.crt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o755  # parents: default mode
    assert (directory / "device.key").read_bytes() == identity.private_key_pem
    assert (directory / "device.crt").read_bytes() == identity.certificate_pem
    assert identity.private_key_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS8, plain
    assert identity.device_id_display in caplog.text and "kitchen tablet" in caplog.text


def test_restart_gives_the_same_identity_and_touches_no_file(tmp_path: Path) -> None:
    first = _load(tmp_path)
    before = _snapshot(tmp_path)

    again = _load(tmp_path, now=NOW + timedelta(days=400), device_name="renamed")

    assert _snapshot(tmp_path) == before
    assert again.device_id == first.device_id
    assert again.fingerprint == first.fingerprint
    assert again.certificate == first.certificate
    assert again.private_key_pem == first.private_key_pem
    assert again.certificate_pem == first.certificate_pem


def test_device_id_is_the_sha256_of_the_public_key(tmp_path: Path) -> None:
    identity = _load(tmp_path)
    key = serialization.load_pem_private_key((tmp_path / "device.key").read_bytes(), password=None)
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    assert identity.device_id == _independent_device_id(spki)
    assert re.fullmatch(r"[A-Z2-7]{52}", identity.device_id)
    assert device_id_of_certificate(identity.certificate) == identity.device_id
    assert identity.device_id_display.replace("-", "") == identity.device_id
    assert re.fullmatch(r"([A-Z2-7]{4}-){12}[A-Z2-7]{4}", identity.device_id_display)


def test_identities_are_distinct(tmp_path: Path) -> None:
    one, two = _load(tmp_path / "one"), _load(tmp_path / "two")

    assert one.device_id != two.device_id
    assert one.certificate.serial_number != two.certificate.serial_number


def test_fingerprint_is_sha256_of_certificate_der_in_hex_pairs(tmp_path: Path) -> None:
    identity = _load(tmp_path)
    der = identity.certificate.public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest()

    assert re.fullmatch(r"([0-9a-f]{2}:){31}[0-9a-f]{2}", identity.fingerprint)
    assert identity.fingerprint.replace(":", "") == digest
    assert certificate_fingerprint(identity.certificate) == identity.fingerprint


def test_repr_does_not_show_the_private_key(tmp_path: Path) -> None:
    identity = _load(tmp_path)

    assert "PRIVATE" not in repr(identity)
    assert identity.device_id in repr(identity)


def test_naive_now_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _load(tmp_path, now=NOW.replace(tzinfo=None))

    assert not tmp_path.joinpath("device.key").exists()


# --- the certificate ------------------------------------------------------------------------


def test_certificate_is_a_self_signed_p256_leaf_for_the_device_id(tmp_path: Path) -> None:
    identity = _load(tmp_path)
    certificate = identity.certificate
    device_id = identity.device_id

    assert certificate.subject == certificate.issuer
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == device_id
    assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Kizuna"
    )
    certificate.verify_directly_issued_by(certificate)
    assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert isinstance(public_key.curve, ec.SECP256R1)
    assert certificate.serial_number > 0
    assert certificate.not_valid_before_utc == NOW.replace(microsecond=0) - timedelta(days=1)
    assert certificate.not_valid_after_utc == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

    extensions = {e.oid: e for e in certificate.extensions}
    assert set(extensions) == {
        ExtensionOID.KEY_USAGE,
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    }
    key_usage = extensions[ExtensionOID.KEY_USAGE]
    assert key_usage.critical
    assert key_usage.value == _key_usage(digital_signature=True)
    constraints = extensions[ExtensionOID.BASIC_CONSTRAINTS]
    assert constraints.critical
    assert constraints.value == x509.BasicConstraints(ca=False, path_length=None)
    assert not extensions[ExtensionOID.EXTENDED_KEY_USAGE].critical
    assert list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [device_id.lower()]
    assert extensions[ExtensionOID.SUBJECT_KEY_IDENTIFIER].value == (
        x509.SubjectKeyIdentifier.from_public_key(public_key)
    )

    check_device_certificate(certificate)


def test_missing_certificate_is_made_again_for_the_existing_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = _load(tmp_path)
    (tmp_path / "device.crt").unlink()
    caplog.set_level(logging.INFO, logger="kizuna_server.p2p.identity")

    again = _load(tmp_path)

    assert again.device_id == first.device_id
    assert again.private_key_pem == first.private_key_pem
    assert (tmp_path / "device.key").read_bytes() == first.private_key_pem
    assert (tmp_path / "device.crt").read_bytes() == again.certificate_pem
    assert again.certificate.serial_number != first.certificate.serial_number
    check_device_certificate(again.certificate)
    assert "device.crt was missing" in caplog.text
    assert _load(tmp_path).certificate_pem == again.certificate_pem


# --- refusals: bad files raise and stay exactly as they were -----------------------------


@dataclass(frozen=True)
class Damage:
    name: str
    apply: Callable[[Path], object]
    message: str


def _write_key(directory: Path, pem: bytes) -> None:
    (directory / "device.key").write_bytes(pem)  # keeps the file's mode (0600)


def _replace_key_with_link(directory: Path) -> None:
    (directory / "device.key").unlink()
    (directory / "device.key").symlink_to(directory / "elsewhere.key")


def _own_key(directory: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((directory / "device.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _encrypt_key(directory: Path) -> None:
    _write_key(directory, _pkcs8(_own_key(directory), password=b"secret"))


def _replace_certificate_with_ca(directory: Path) -> None:
    key = _own_key(directory)
    ca = _certificate(key, key_usage=_key_usage(key_cert_sign=True), ca=True)
    (directory / "device.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))


DAMAGES = [
    Damage("key missing", lambda d: (d / "device.key").unlink(), r"device\.key is missing"),
    Damage("key a dangling link", _replace_key_with_link, r"cannot read .*device\.key"),
    Damage(
        "key not PEM",
        lambda d: _write_key(d, b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIV"),
        r"device\.key does not hold a readable PEM private key",
    ),
    Damage(
        "key truncated",
        lambda d: _write_key(d, (d / "device.key").read_bytes()[:100]),
        r"device\.key does not hold a readable PEM private key",
    ),
    Damage(
        "key encrypted",
        _encrypt_key,
        r"device\.key is encrypted",
    ),
    Damage(
        "key P-384",
        lambda d: _write_key(d, _pkcs8(ec.generate_private_key(ec.SECP384R1()))),
        r"device\.key holds an EC secp384r1 key",
    ),
    Damage(
        "key Ed25519",
        lambda d: _write_key(d, _pkcs8(ed25519.Ed25519PrivateKey.generate())),
        r"device\.key holds an Ed25519 key",
    ),
    Damage(
        "key of another device",
        lambda d: _write_key(d, _pkcs8(ec.generate_private_key(ec.SECP256R1()))),
        r"device\.crt does not belong to .*device\.key",
    ),
    Damage(
        "key readable by group",
        lambda d: (d / "device.key").chmod(0o640),
        r"device\.key is readable by other users \(mode 640\)",
    ),
    Damage(
        "key readable by others",
        lambda d: (d / "device.key").chmod(0o604),
        r"device\.key is readable by other users \(mode 604\)",
    ),
    Damage(
        "certificate not PEM",
        lambda d: (d / "device.crt").write_bytes(b"garbage\n"),
        r"device\.crt does not hold a readable PEM certificate",
    ),
    Damage(
        "certificate that can sign",
        _replace_certificate_with_ca,
        r"device\.crt: .* may sign certificates",
    ),
]


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.name for d in DAMAGES])
def test_damaged_identity_is_refused_and_left_alone(tmp_path: Path, damage: Damage) -> None:
    _load(tmp_path)
    damage.apply(tmp_path)
    before = _snapshot(tmp_path)

    with pytest.raises(IdentityError, match=damage.message) as raised:
        _load(tmp_path)

    assert _snapshot(tmp_path) == before
    assert re.search(r"(?i)pair again|delete device\.crt", raised.value.message)  # what to do


def test_refusal_explains_how_to_start_over(tmp_path: Path) -> None:
    _load(tmp_path)
    (tmp_path / "device.key").unlink()

    with pytest.raises(IdentityError) as raised:
        _load(tmp_path)

    assert str(tmp_path) in raised.value.message
    assert "restore device.key from a backup" in raised.value.message.lower()
    assert "peers will have to pair again" in raised.value.message


# --- check_device_certificate ---------------------------------------------------------------


def _p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


REFUSED = {
    "CA": (
        lambda: _certificate(_p256(), key_usage=_key_usage(key_cert_sign=True), ca=True),
        "may sign certificates",
    ),
    "CA without KeyUsage": (lambda: _certificate(_p256(), key_usage=None, ca=True), "no KeyUsage"),
    "no KeyUsage": (lambda: _certificate(_p256(), key_usage=None), "no KeyUsage"),
    "keyCertSign on a non-CA": (
        lambda: _certificate(_p256(), key_usage=_key_usage(key_cert_sign=True)),
        "may sign certificates",
    ),
    "cRLSign": (
        lambda: _certificate(_p256(), key_usage=_key_usage(crl_sign=True)),
        "may sign certificates or CRLs",
    ),
    "CA:TRUE with digitalSignature only": (
        lambda: _certificate(_p256(), key_usage=_key_usage(), ca=True),
        "is a CA certificate",
    ),
    "no digitalSignature": (
        lambda: _certificate(
            _p256(), key_usage=_key_usage(digital_signature=False, key_agreement=True)
        ),
        "lacks KeyUsage digitalSignature",
    ),
    "P-384 key": (
        lambda: _certificate(ec.generate_private_key(ec.SECP384R1()), key_usage=_key_usage()),
        "EC secp384r1 key",
    ),
    "Ed25519 key": (
        lambda: _certificate(ed25519.Ed25519PrivateKey.generate(), key_usage=_key_usage()),
        "Ed25519 key",
    ),
    "no SAN": (lambda: _certificate(_p256(), key_usage=_key_usage(), san=None), "does not name"),
    "SAN of another device": (
        lambda: _certificate(_p256(), key_usage=_key_usage(), san="a" * 52),
        "does not name",
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_certificate_that_is_not_a_device_leaf_is_refused(
    case: tuple[Callable[[], x509.Certificate], str],
) -> None:
    make, message = case

    with pytest.raises(IdentityError, match=message):
        check_device_certificate(make())


def test_minimal_leaf_certificate_is_accepted() -> None:
    """No BasicConstraints at all is fine: with KeyUsage digitalSignature only it cannot sign."""
    check_device_certificate(_certificate(_p256(), key_usage=_key_usage(), ca=None))


# --- real mutual TLS ------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    identity: Identity
    directory: Path

    @property
    def name(self) -> str:
        return self.identity.device_id.lower()

    def server_context(self, trusted: "Device") -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.directory / "device.crt", self.directory / "device.key")
        context.load_verify_locations(cafile=trusted.directory / "device.crt")
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self, trusted: "Device") -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        context.load_cert_chain(self.directory / "device.crt", self.directory / "device.key")
        context.load_verify_locations(cafile=trusted.directory / "device.crt")
        return context


@pytest.fixture
def devices(tmp_path: Path) -> tuple[Device, Device, Device]:
    """Alice and Bob, who trust each other, and Mallory, whom nobody trusts."""
    alice, bob, mallory = (
        Device(_load(tmp_path / name, device_name=name), tmp_path / name)
        for name in ("alice", "bob", "mallory")
    )
    return alice, bob, mallory


@dataclass(frozen=True)
class Accepted:
    version: str | None
    peer_device_id: str


async def _serve_once(
    context: ssl.SSLContext,
) -> tuple[asyncio.Server, int, asyncio.Future[Accepted]]:
    """A TLS server on 127.0.0.1 port 0 that reports the first client it authenticates."""
    accepted: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        peer = device_id_of_certificate(x509.load_der_x509_certificate(der))
        if not accepted.done():
            accepted.set_result(Accepted(tls.version(), peer))
        writer.write(b"hello " + peer.encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port: int = server.sockets[0].getsockname()[1]
    return server, port, accepted


async def _exchange(port: int, context: ssl.SSLContext, server_hostname: str) -> tuple[str, bytes]:
    """Connects, reads everything the server sends; returns the TLS version and the bytes."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname=server_hostname
    )
    try:
        tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
        return str(tls.version()), await reader.read()
    finally:
        writer.close()


async def test_two_identities_authenticate_each_other_over_tls_1_3(
    devices: tuple[Device, Device, Device],
) -> None:
    alice, bob, _ = devices
    server, port, accepted = await _serve_once(alice.server_context(trusted=bob))
    async with server, asyncio.timeout(IO_TIMEOUT):
        version, received = await _exchange(port, bob.client_context(trusted=alice), alice.name)
        on_server = await accepted

    assert version == "TLSv1.3"
    assert received == b"hello " + bob.identity.device_id.encode()
    assert on_server == Accepted("TLSv1.3", bob.identity.device_id)


async def test_server_refuses_a_client_it_does_not_trust(
    devices: tuple[Device, Device, Device],
) -> None:
    alice, bob, mallory = devices
    server, port, accepted = await _serve_once(alice.server_context(trusted=bob))
    async with server, asyncio.timeout(IO_TIMEOUT):
        # A TLS 1.3 client finishes its side before the server checks the client's certificate;
        # the refusal then reaches it as a closed connection (or an alert, depending on timing).
        try:
            _, received = await _exchange(port, mallory.client_context(trusted=alice), alice.name)
        except (ssl.SSLError, ConnectionError):
            received = b""

    assert received == b""
    assert not accepted.done()


async def test_client_refuses_a_server_it_did_not_pin(
    devices: tuple[Device, Device, Device],
) -> None:
    alice, bob, mallory = devices
    server, port, accepted = await _serve_once(mallory.server_context(trusted=bob))
    async with server, asyncio.timeout(IO_TIMEOUT):
        for name in (alice.name, mallory.name):
            with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
                await _exchange(port, bob.client_context(trusted=alice), name)

    assert not accepted.done()


async def test_client_refuses_a_pinned_server_under_another_name(
    devices: tuple[Device, Device, Device],
) -> None:
    alice, bob, mallory = devices
    server, port, _ = await _serve_once(alice.server_context(trusted=bob))
    async with server, asyncio.timeout(IO_TIMEOUT):
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            await _exchange(port, bob.client_context(trusted=alice), mallory.name)


def test_a_proof_holds_only_for_its_key_and_its_message(tmp_path: Path) -> None:
    """Rows #34, #36: the pairing port's proof of key. Only the holder of a certificate's key
    can make a proof for it, and a proof for one server (or pairing) fails for any other."""
    alice, mallory = _load(tmp_path / "a"), _load(tmp_path / "m")
    server_a, server_b = b"server-a-certificate", b"server-b-certificate"
    own = alice.certificate.public_bytes(serialization.Encoding.DER)
    message = introduce_proof_message(own, server_a)
    proof = sign_proof(alice, message)

    assert proof_holds(alice.certificate, proof, message)
    # Mallory has alice's public certificate, not her key.
    assert not proof_holds(alice.certificate, sign_proof(mallory, message), message)
    # Replayed to another server, or as a pairing's proof, it fails.
    assert not proof_holds(alice.certificate, proof, introduce_proof_message(own, server_b))
    request = Request("0" * 32, own, bytes(32))
    assert not proof_holds(alice.certificate, proof, start_proof_message(request, server_a))
    # Garbage, empty or oversized proofs are refused without raising.
    for bogus in (b"", b"\x30\x00", os.urandom(72), proof + bytes(100)):
        assert not proof_holds(alice.certificate, bogus, message)
