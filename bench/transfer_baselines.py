"""Baselines for file transfer: other ways to copy the same data on this machine, on loopback.

bench/transfer.py imports this module to measure them in the same run as Kizuna's own transfer.
Every baseline takes a source (a file or a directory) and a destination directory on the same
local disk, empties the destination, performs one copy and makes it durable (fsync or
`sync -f`) before the clock stops, then checks the size of every copied file (contents are
hashed by the caller if it wants to). The copy of `src` lands at `copied_path(src, dst)`,
that is `dst / src.name`, for every baseline. Only 127.0.0.1 is ever used.

- raw_tls_copy / raw_tls_copy_hashed: a Python TLS 1.3 receiver and sender, each in its own
  process, 1 MiB reads and writes, an fsync per file; the hashed variant computes SHA-256 on
  both ends and the receiver checks the sender's digest.
- scp_copy / rsync_ssh_copy: OpenSSH's scp (default cipher, or the one given) and rsync -a
  over a private sshd on 127.0.0.1 (local_sshd()), then `sync -f`.
- wormhole_copy: magic-wormhole's `send` / `receive` with a fixed code through a private mailbox
  server (local_wormhole()), both inside a network namespace where only loopback exists, then
  `sync -f`.
- tar_socket_copy: `tar -c` writing straight into a TCP socket whose other end is the stdin of
  `tar -x`, then `sync -f`.
- cp_sync_copy: `cp -r` then `sync -f`.

Run on its own it copies one large file and many small files with every available baseline:
`.venv/bin/python bench/transfer_baselines.py [--size-mib N] [--small-files N]`.
The tools come from Debian's packages: `scripts/bench-env` installs them (as root).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench._common import (
    BENCH_DIR,
    RESULTS_DIR,
    BenchError,
    environment,
    finite,
    fmt,
    print_table,
    write_result,
)

NAME = "transfer_baselines"
LOOPBACK = "127.0.0.1"
#: The OpenSSH cipher the fastest scp run uses here (AES-NI); None is OpenSSH's default.
SCP_FAST_CIPHER = "aes128-gcm@openssh.com"
SSHD = Path("/usr/sbin/sshd")
#: magic-wormhole and its mailbox server, from PyPI into a venv of their own (scripts/bench-env).
WORMHOLE_TOOLS = BENCH_DIR.parent / ".bench-tools" / "bin"
#: The longest one copy may take before the benchmark gives up.
COPY_LIMIT_SECS = 900.0
#: The longest a helper process or sshd may take to become ready.
START_LIMIT_SECS = 30.0
TEMP_PREFIX = "kzt-"
MIB = 1024 * 1024
SMALL_FILE_BYTES = 100 * 1024


@dataclass(frozen=True)
class Baseline:
    """One timed copy: `bytes` in `files` files took `seconds` (durable at the end)."""

    name: str
    seconds: float
    bytes: int
    files: int

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6


# --- files ---------------------------------------------------------------------------------------


def copied_path(src: Path, dst: Path) -> Path:
    """Where every baseline puts its copy of `src`: `dst / src.name`."""
    return dst / src.name


def disk_temp_dir(prefix: str = TEMP_PREFIX) -> Path:
    """A fresh directory on the repository's disk: in /tmp if that is the same filesystem (not
    tmpfs), else under bench/results/tmp (git-ignored). The caller removes it."""
    tmp = Path(tempfile.gettempdir())
    if os.stat(tmp).st_dev == os.stat(BENCH_DIR).st_dev:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=tmp))
    parent = RESULTS_DIR / "tmp"
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def file_sizes(src: Path) -> dict[str, int]:
    """Size of every regular file of `src`, by its path relative to `src.parent`."""
    if src.is_file():
        return {src.name: src.stat().st_size}
    if not src.is_dir():
        raise BenchError(f"{src}: neither a file nor a directory")
    sizes: dict[str, int] = {}
    for root, dirs, names in os.walk(src):
        dirs.sort()
        for name in sorted(names):
            path = Path(root, name)
            if path.is_file() and not path.is_symlink():
                sizes[str(path.relative_to(src.parent))] = path.stat().st_size
    return sizes


def _clean_destination(src: Path, dst: Path) -> None:
    """Empties `dst` (creating it) and syncs, so freeing the last copy is not timed."""
    src, dst = src.resolve(), dst.resolve()
    if dst == Path(dst.anchor) or dst == src or dst in src.parents or src in dst.parents:
        raise BenchError(f"refusing {dst} as the destination for {src}")
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    _sync(dst)


def _sync(path: Path) -> None:
    """Flushes the filesystem holding `path` (`sync -f`, syncfs)."""
    _run(["sync", "-f", str(path)], what="sync")


def _verify(name: str, src: Path, expected: dict[str, int], dst: Path) -> None:
    """Checks that the copy of `src` in `dst` has exactly the files of `expected`, same sizes."""
    copy = copied_path(src, dst)
    got = file_sizes(copy) if copy.exists() else {}
    if got != expected:
        missing = sorted(set(expected) - set(got))[:3]
        extra = sorted(set(got) - set(expected))[:3]
        wrong = sorted(p for p in set(expected) & set(got) if expected[p] != got[p])[:3]
        raise BenchError(
            f"{name}: the copy differs (missing {missing}, extra {extra}, wrong size {wrong})"
        )


def _timed_copy(name: str, src: Path, dst: Path, argv_list: Sequence[Sequence[str]]) -> Baseline:
    """Cleans `dst`, runs the commands one after the other, syncs `dst`, verifies."""
    expected = file_sizes(src)
    _clean_destination(src, dst)
    start = time.perf_counter()
    for argv in argv_list:
        _run(argv, what=name)
    _sync(dst)
    seconds = time.perf_counter() - start
    _verify(name, src, expected, dst)
    return Baseline(name, seconds, sum(expected.values()), len(expected))


def _run(argv: Sequence[str], *, what: str) -> None:
    result = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=COPY_LIMIT_SECS,
        check=False,
    )
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip()[-800:]
        raise BenchError(f"{what}: {argv[0]} exited with {result.returncode}: {tail}")


# --- tools ---------------------------------------------------------------------------------------


def tools_available() -> dict[str, bool]:
    """Which external tools the baselines need are installed (sshd, scp, rsync, tar)."""
    return {
        "sshd": os.access(SSHD, os.X_OK),
        "scp": shutil.which("scp") is not None and shutil.which("ssh-keygen") is not None,
        "rsync": shutil.which("rsync") is not None,
        "tar": shutil.which("tar") is not None,
        "wormhole": (WORMHOLE_TOOLS / "wormhole").exists()
        and (WORMHOLE_TOOLS / "twist").exists()
        and shutil.which("ip") is not None
        and os.geteuid() == 0,
    }


# --- child processes -----------------------------------------------------------------------------


class _Child:
    """A helper process with stdin/stdout pipes (line protocol) and stderr in a log file."""

    def __init__(self, argv: Sequence[str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, bufsize=0
            )
        self._buffer = b""

    def line(self, limit_secs: float) -> str:
        """The next line of its stdout; BenchError on EOF or after `limit_secs`."""
        stdout = self.proc.stdout
        assert stdout is not None
        deadline = time.monotonic() + limit_secs
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise BenchError(f"pid {self.proc.pid}: no answer in {limit_secs:.0f}s")
                chunk = os.read(stdout.fileno(), 4096)
                if not chunk:
                    code = self.proc.wait(5)
                    raise BenchError(f"pid {self.proc.pid} exited with {code}{self.tail()}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def send(self, text: str) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(text.encode() + b"\n")
        stdin.flush()

    def finish(self, limit_secs: float = 30.0) -> None:
        """Waits for a clean exit; BenchError if it fails."""
        try:
            code = self.proc.wait(limit_secs)
        except subprocess.TimeoutExpired:
            raise BenchError(f"pid {self.proc.pid} did not exit{self.tail()}") from None
        if code != 0:
            raise BenchError(f"pid {self.proc.pid} exited with {code}{self.tail()}")

    def kill(self) -> None:
        """Ends the process if it still runs and closes its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()[-10:]
        except OSError:
            lines = []
        return "".join(f"\n  | {line}" for line in lines)


# --- raw TLS copy --------------------------------------------------------------------------------

#: The sender and the receiver of the raw TLS copy (stdlib only, run with `python -I`).
#: Framing per file: u32 path length, the path (relative, bytes), u64 size, the data, and with
#: hashing the 32-byte SHA-256 of the data. A path length of 0 ends the stream; the receiver then
#: answers one byte once every file is fsynced, so the sender closes only after that.
TLS_PEER = '''\
"""Raw TLS 1.3 file copy: `recv CERT KEY DST HASHED` or `send CA PORT SRC HASHED`."""

import hashlib
import os
import socket
import ssl
import struct
import sys

CHUNK = 1024 * 1024
HEAD = struct.Struct(">I")
SIZE = struct.Struct(">Q")


def recv_into(conn, view):
    got = 0
    while got < len(view):
        n = conn.recv_into(view[got:])
        if n == 0:
            raise EOFError("the sender closed early")
        got += n


def recv_exact(conn, n):
    data = bytearray(n)
    recv_into(conn, memoryview(data))
    return bytes(data)


def write_all(fd, view):
    while view:
        view = view[os.write(fd, view):]


def receive(cert, key, dst, hashed):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.num_tickets = 0
    context.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(900)
        print("port", server.getsockname()[1], flush=True)
        raw, _ = server.accept()
    raw.settimeout(900)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = files = 0
    with context.wrap_socket(raw, server_side=True) as conn:
        while True:
            (length,) = HEAD.unpack(recv_exact(conn, HEAD.size))
            if length == 0:
                break
            rel = os.fsdecode(recv_exact(conn, length))
            parts = rel.split(os.sep)
            if os.path.isabs(rel) or ".." in parts or "" in parts:
                raise ValueError(f"bad path {rel!r}")
            (size,) = SIZE.unpack(recv_exact(conn, SIZE.size))
            path = os.path.join(dst, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            digest = hashlib.sha256() if hashed else None
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                remaining = size
                while remaining:
                    n = min(CHUNK, remaining)
                    recv_into(conn, view[:n])
                    write_all(fd, view[:n])
                    if digest is not None:
                        digest.update(view[:n])
                    remaining -= n
                os.fsync(fd)
            finally:
                os.close(fd)
            if digest is not None and recv_exact(conn, 32) != digest.digest():
                raise ValueError(f"{rel}: SHA-256 differs from the sender's")
            total += size
            files += 1
        conn.sendall(b"K")
    print("done", total, files, flush=True)


def send(ca, port, src, hashed):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(ca)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    base = os.path.dirname(os.path.abspath(src))
    if os.path.isdir(src):
        paths = []
        for root, dirs, names in os.walk(src):
            dirs.sort()
            for name in sorted(names):
                path = os.path.join(root, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    paths.append(path)
    else:
        paths = [src]
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    raw = socket.create_connection(("127.0.0.1", port), timeout=900)
    with context.wrap_socket(raw, server_hostname="localhost") as conn:
        for path in paths:
            rel = os.fsencode(os.path.relpath(path, base))
            digest = hashlib.sha256() if hashed else None
            with open(path, "rb", buffering=0) as f:
                size = os.fstat(f.fileno()).st_size
                conn.sendall(HEAD.pack(len(rel)) + rel + SIZE.pack(size))
                remaining = size
                while remaining:
                    n = f.readinto(view[: min(CHUNK, remaining)])
                    if not n:
                        raise ValueError(f"{path} shrank while being sent")
                    conn.sendall(view[:n])
                    if digest is not None:
                        digest.update(view[:n])
                    remaining -= n
            if digest is not None:
                conn.sendall(digest.digest())
        conn.sendall(HEAD.pack(0))
        if recv_exact(conn, 1) != b"K":
            raise ValueError("no acknowledgement from the receiver")


if sys.argv[1] == "recv":
    receive(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1")
else:
    send(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1")
'''


def _write_self_signed(workdir: Path) -> tuple[Path, Path]:
    """A self-signed ECDSA P-256 certificate for `localhost` / 127.0.0.1; returns (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address(LOOPBACK))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "cert.pem", workdir / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _raw_tls(name: str, src: Path, dst: Path, *, hashed: bool) -> Baseline:
    expected = file_sizes(src)
    _clean_destination(src, dst)
    workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    children: list[_Child] = []
    try:
        cert, key = _write_self_signed(workdir)
        program = workdir / "tls_peer.py"
        program.write_text(TLS_PEER)
        flag = "1" if hashed else "0"
        python = [sys.executable, "-I", str(program)]
        receiver = _Child([*python, "recv", str(cert), str(key), str(dst), flag], workdir / "r")
        children.append(receiver)
        port = receiver.line(START_LIMIT_SECS).split()[1]
        sender = _Child([*python, "send", str(cert), port, str(src.resolve()), flag], workdir / "s")
        children.append(sender)
        if sender.line(START_LIMIT_SECS) != "ready":
            raise BenchError(f"{name}: the sender did not start{sender.tail()}")
        # Both processes are up (as a daemon would be); timed: connect, handshake, copy, fsync.
        start = time.perf_counter()
        sender.send("go")
        done = receiver.line(COPY_LIMIT_SECS)
        seconds = time.perf_counter() - start
        sender.finish()
        receiver.finish()
    finally:
        for child in children:
            child.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    _, total, files = done.split()
    if (int(total), int(files)) != (sum(expected.values()), len(expected)):
        raise BenchError(f"{name}: the receiver reports {done!r}")
    _verify(name, src, expected, dst)
    return Baseline(name, seconds, sum(expected.values()), len(expected))


def raw_tls_copy(src: Path, dst: Path) -> Baseline:
    """Python TLS 1.3 over a loopback socket, sender and receiver processes, fsync per file."""
    return _raw_tls("raw TLS (Python)", src, dst, hashed=False)


def raw_tls_copy_hashed(src: Path, dst: Path) -> Baseline:
    """raw_tls_copy, with SHA-256 of every file on both ends, checked by the receiver."""
    return _raw_tls("raw TLS + SHA-256 (Python)", src, dst, hashed=True)


# --- ssh: scp and rsync --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalSshd:
    """A private sshd listening on 127.0.0.1:`port` that accepts `key` for `user`."""

    port: int
    key: Path
    user: str

    def ssh_options(self) -> list[str]:
        """Client options: no user config, no host key checks, only this key, no prompts."""
        return [
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            "-i",
            str(self.key),
        ]

    def remote(self, path: Path) -> str:
        return f"{self.user}@{LOOPBACK}:{path}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_ssh_banner(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_LIMIT_SECS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(errors="replace").strip()[-800:]
            raise BenchError(f"sshd exited with {proc.returncode}: {text}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=2) as conn:
                if conn.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise BenchError(f"sshd did not answer on {LOOPBACK}:{port} in {START_LIMIT_SECS:.0f}s")


@contextlib.contextmanager
def local_sshd() -> Iterator[LocalSshd]:
    """Runs a private sshd on 127.0.0.1 (own host key, own authorized key, own config) for as
    long as the context lasts; stops it and removes its files afterwards."""
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh-keygen") is None:
        raise BenchError(f"{SSHD} or ssh-keygen is missing: run scripts/bench-env (as root)")
    # Debian's sshd refuses to start without its privilege separation directory (made by the
    # service's start-up, which never runs here; /run is emptied at boot).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    proc: subprocess.Popen[bytes] | None = None
    try:
        for key_name in ("host_ed25519", "id_ed25519"):
            _run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / key_name)],
                what="ssh-keygen",
            )
        shutil.copyfile(workdir / "id_ed25519.pub", workdir / "authorized_keys")
        port = _free_port()
        config = workdir / "sshd_config"
        config.write_text(
            f"ListenAddress {LOOPBACK}\n"
            f"Port {port}\n"
            f"HostKey {workdir / 'host_ed25519'}\n"
            f"AuthorizedKeysFile {workdir / 'authorized_keys'}\n"
            f"PidFile {workdir / 'sshd.pid'}\n"
            "UsePAM no\n"
            "StrictModes no\n"
            # Benches run as root; keys only.
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UseDNS no\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "X11Forwarding no\n"
            "LogLevel ERROR\n"
            # scp of OpenSSH >= 9 speaks SFTP.
            "Subsystem sftp /usr/lib/openssh/sftp-server\n"
        )
        log = workdir / "sshd.log"
        with open(log, "ab") as log_file:
            proc = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        _wait_for_ssh_banner(port, proc, log)
        yield LocalSshd(port=port, key=workdir / "id_ed25519", user=getpass.getuser())
    finally:
        _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def scp_copy(src: Path, dst: Path, sshd: LocalSshd, cipher: str | None = None) -> Baseline:
    """`scp -r` to `sshd` (OpenSSH's default cipher, or `cipher`), then `sync -f`."""
    if shutil.which("scp") is None:
        raise BenchError("scp is missing: run scripts/bench-env (as root)")
    argv = ["scp", "-r", "-q", *sshd.ssh_options(), "-P", str(sshd.port)]
    if cipher is not None:
        argv += ["-c", cipher]
    argv += [str(src), sshd.remote(dst)]
    name = f"scp -c {cipher}" if cipher else "scp (default cipher)"
    return _timed_copy(name, src, dst, [argv])


def rsync_ssh_copy(src: Path, dst: Path, sshd: LocalSshd) -> Baseline | None:
    """`rsync -a` over ssh to `sshd`, then `sync -f`; None when rsync is not installed."""
    if shutil.which("rsync") is None:
        return None
    ssh = " ".join(["ssh", *sshd.ssh_options(), "-p", str(sshd.port)])
    argv = ["rsync", "-a", "-e", ssh, str(src), f"{sshd.remote(dst)}/"]
    return _timed_copy("rsync -a over ssh", src, dst, [argv])


# --- magic-wormhole -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalWormhole:
    """A mailbox server on 127.0.0.1 inside network namespace `netns`, where only loopback
    exists: wormhole advertises every local address as a direct hint, and the bench must never
    use any but loopback."""

    netns: str
    port: int

    def argv(self, *command: str) -> list[str]:
        return [
            "ip", "netns", "exec", self.netns, str(WORMHOLE_TOOLS / "wormhole"),
            "--relay-url", f"ws://{LOOPBACK}:{self.port}/v1",
            # No transit relay: the direct connection on loopback is the path measured.
            "--transit-helper", f"tcp:{LOOPBACK}:{self.port + 1}",
            *command,
        ]  # fmt: skip


@contextlib.contextmanager
def local_wormhole() -> Iterator[LocalWormhole]:
    """A private namespace with its loopback up and a mailbox server in it, for as long as the
    context lasts; removes both afterwards. Needs root and `ip`."""
    netns = f"kzt-wormhole-{os.getpid()}"
    port = 4000
    _run(["ip", "netns", "add", netns], what="ip netns add")
    proc: subprocess.Popen[bytes] | None = None
    log = Path(tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".log")[1])
    # The mailbox writes its database (relay.sqlite) to its working directory: a temporary one.
    workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        _run(["ip", "-n", netns, "link", "set", "lo", "up"], what="ip link")
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    netns,
                    str(WORMHOLE_TOOLS / "twist"),
                    "wormhole-mailbox",
                    "--port",
                    f"tcp:{port}:interface={LOOPBACK}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=workdir,
            )
        deadline = time.monotonic() + START_LIMIT_SECS
        probe = ["ip", "netns", "exec", netns, "bash", "-c", f"exec 3<>/dev/tcp/{LOOPBACK}/{port}"]
        while subprocess.run(probe, stderr=subprocess.DEVNULL, check=False).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"the wormhole mailbox did not start: see {log}")
            time.sleep(0.1)  # polling a server's start-up, not synchronising a test
        yield LocalWormhole(netns, port)
    finally:
        _stop(proc)
        subprocess.run(["ip", "netns", "del", netns], check=False)
        log.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


def wormhole_copy(src: Path, dst: Path, hole: LocalWormhole) -> Baseline:
    """`wormhole send` and `wormhole receive` with a fixed code through the local mailbox
    (folders go as a zip, as the tool does), then `sync -f`."""
    name = "magic-wormhole"
    expected = file_sizes(src)
    _clean_destination(src, dst)
    code = f"{os.getpid() % 900 + 100}-kizuna-bench"
    start = time.perf_counter()
    with tempfile.TemporaryFile() as sender_log:
        sender = subprocess.Popen(
            hole.argv("send", "--code", code, str(src)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sender_log,
        )
        try:
            _run(hole.argv("receive", "--accept-file", "-o", str(dst / src.name), code), what=name)
            if sender.wait(COPY_LIMIT_SECS) != 0:
                sender_log.seek(0)
                tail = sender_log.read().decode(errors="replace")[-800:]
                raise BenchError(f"{name}: wormhole send exited with {sender.returncode}: {tail}")
        finally:
            _kill_all([sender])
    _sync(dst)
    seconds = time.perf_counter() - start
    _verify(name, src, expected, dst)
    return Baseline(name, seconds, sum(expected.values()), len(expected))


# --- tar through a socket, cp --------------------------------------------------------------------


def tar_socket_copy(src: Path, dst: Path) -> Baseline:
    """`tar -c` writing into a loopback TCP socket read by `tar -x` (no Python in the data
    path: each tar gets its end of the connection as stdout / stdin), then `sync -f`."""
    name = "tar through a TCP socket"
    expected = file_sizes(src)
    _clean_destination(src, dst)
    src = src.resolve()
    commands = [
        ["tar", "-C", str(dst), "-xf", "-"],
        ["tar", "-C", str(src.parent), "-cf", "-", src.name],
    ]
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(socket.create_server((LOOPBACK, 0)))
        sending = stack.enter_context(
            socket.create_connection(server.getsockname()[:2], timeout=START_LIMIT_SECS)
        )
        receiving = stack.enter_context(server.accept()[0])
        # tar gets the descriptors themselves: they must be blocking (a timeout makes them not).
        sending.setblocking(True)
        receiving.setblocking(True)
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in commands]
        stack.callback(_kill_all, procs)
        start = time.perf_counter()
        procs.append(
            subprocess.Popen(
                commands[0], stdin=receiving.fileno(), stdout=subprocess.DEVNULL, stderr=logs[0]
            )
        )
        procs.append(
            subprocess.Popen(
                commands[1], stdin=subprocess.DEVNULL, stdout=sending.fileno(), stderr=logs[1]
            )
        )
        # Only the tar processes hold the connection now: tar -x sees EOF when tar -c exits.
        sending.close()
        receiving.close()
        for proc in reversed(procs):
            proc.wait(COPY_LIMIT_SECS)
        _sync(dst)
        seconds = time.perf_counter() - start
        for proc, log in zip(procs, logs, strict=True):
            if proc.returncode != 0:
                log.seek(0)
                text = log.read().decode(errors="replace").strip()[-800:]
                raise BenchError(f"{name}: {proc.args!r} exited with {proc.returncode}: {text}")
    _verify(name, src, expected, dst)
    return Baseline(name, seconds, sum(expected.values()), len(expected))


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """Terminates a server process, killing it if it does not exit within 10 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _kill_all(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def warm_up(src: Path, dst: Path) -> None:
    """One untimed `cp -r` + sync of `src` into `dst`, then empties `dst`.

    On this VM the first copy after writing new test data runs at about half speed, whatever
    the tool (first use of the disk's blocks underneath, it seems): do this once per data set
    before timing anything, Kizuna's transfer included."""
    cp_sync_copy(src, dst)
    _clean_destination(src, dst)


def cp_sync_copy(src: Path, dst: Path) -> Baseline:
    """`cp -r src dst/` then `sync -f dst`: the local disk's own speed."""
    return _timed_copy("cp -r + sync", src, dst, [["cp", "-r", str(src), f"{dst}/"]])


# --- standalone run ------------------------------------------------------------------------------


def _write_random(path: Path, size: int) -> None:
    with open(path, "wb", buffering=0) as f:
        remaining = size
        while remaining:
            n = min(MIB, remaining)
            f.write(os.urandom(n))
            remaining -= n


def _make_data(root: Path, size_mib: int, small_files: int) -> tuple[Path, Path]:
    """One file of `size_mib` MiB and a directory of `small_files` files of 100 KiB."""
    data = root / "data"
    big = data / "big.bin"
    small = data / "small"
    small.mkdir(parents=True)
    _write_random(big, size_mib * MIB)
    for i in range(small_files):
        _write_random(small / f"f{i:05d}.bin", SMALL_FILE_BYTES)
    _sync(data)
    return big, small


def run_all(src: Path, dst: Path, sshd: LocalSshd | None) -> list[Baseline]:
    """warm_up, then every available baseline once in a fixed order; a failing one is reported
    (on stderr) and left out."""
    tools = tools_available()
    results: list[Baseline] = []
    warm_up(src, dst)

    def attempt(label: str, run: Callable[[], Baseline | None]) -> None:
        try:
            result = run()
        except (BenchError, OSError, subprocess.SubprocessError) as exc:
            print(f"note: {label} failed: {exc}", file=sys.stderr)
            return
        if result is not None:
            results.append(result)
            print(f"  {result.name}: {result.mb_per_s:.0f} MB/s", flush=True)

    attempt("raw TLS", lambda: raw_tls_copy(src, dst))
    attempt("raw TLS + SHA-256", lambda: raw_tls_copy_hashed(src, dst))
    if sshd is not None and tools["scp"]:
        attempt("scp", lambda: scp_copy(src, dst, sshd))
        attempt("scp aes128-gcm", lambda: scp_copy(src, dst, sshd, SCP_FAST_CIPHER))
    if sshd is not None and tools["rsync"]:
        attempt("rsync", lambda: rsync_ssh_copy(src, dst, sshd))
    if tools["tar"]:
        attempt("tar", lambda: tar_socket_copy(src, dst))
    attempt("cp", lambda: cp_sync_copy(src, dst))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the large file")
    parser.add_argument("--small-files", type=int, default=1000, help="number of 100 KiB files")
    args = parser.parse_args()
    tools = tools_available()
    missing = [tool for tool, ok in tools.items() if not ok]
    if missing:
        print(f"note: missing {', '.join(missing)}: skipped (scripts/bench-env installs them)")

    root = disk_temp_dir()
    try:
        print(f"writing test data in {root} ...", flush=True)
        big, small = _make_data(root, args.size_mib, args.small_files)
        dst = root / "dst"
        with contextlib.ExitStack() as stack:
            sshd = stack.enter_context(local_sshd()) if tools["sshd"] and tools["scp"] else None
            print(f"one file of {args.size_mib} MiB:", flush=True)
            large = run_all(big, dst, sshd)
            print(f"{args.small_files} files of 100 KiB:", flush=True)
            many = run_all(small, dst, sshd)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print_table(
        f"One file of {args.size_mib} MiB (durable at the end)",
        ["baseline", "MB/s", "seconds"],
        [[b.name, fmt(b.mb_per_s, 0), fmt(b.seconds, 3)] for b in large],
    )
    print_table(
        f"{args.small_files} files of 100 KiB (durable at the end)",
        ["baseline", "MB/s", "ms/file", "seconds"],
        [
            [b.name, fmt(b.mb_per_s, 0), fmt(b.seconds / b.files * 1e3, 2), fmt(b.seconds, 3)]
            for b in many
        ],
    )
    path = write_result(
        NAME,
        finite(
            {
                "parameters": {"size_mib": args.size_mib, "small_files": args.small_files},
                "tools": tools,
                "large_file": [asdict(b) | {"mb_per_s": b.mb_per_s} for b in large],
                "small_files": [asdict(b) | {"mb_per_s": b.mb_per_s} for b in many],
                "environment": environment(),
            }
        ),
    )
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
