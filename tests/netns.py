"""Test hosts in network namespaces: a private switch and hosts with their own addresses.

Everything is made with iproute2 (`ip`) inside namespaces this module creates and removes: the
switch is a bridge in a namespace of its own, so the machine's own network is never touched.
Needs root. Addresses exist only inside these namespaces.
"""

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest

#: Namespaces and links are named with this prefix and the creating process's pid, so that
#: leftovers of a killed run can be told apart from a live run's and removed.
PREFIX = "kz"


def available() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 ('ip') is not installed"
    return None


def require() -> None:
    """Skips the calling test when namespaces are unavailable (fails in CI, which must run it)."""
    reason = available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the namespace tests: {reason}")
        pytest.skip(reason)


def ip(*args: str) -> None:
    """Runs `ip ARGS`, raising with ip's message when it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Host:
    """One test host: a namespace with one interface on the LAN."""

    namespace: str
    interface: str
    ipv4: str
    ipv6: str

    def command(self, *argv: str) -> list[str]:
        """argv run inside this host's namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]


@dataclass
class Lan:
    """A switch and hosts on 10.231.<n>.0/24 and fd00:6b7a:<n>::/64 (inside namespaces only)."""

    hosts: list[Host] = field(default_factory=list)
    switch: str = ""
    _namespaces: list[str] = field(default_factory=list)

    def destroy(self) -> None:
        """Removes every namespace (and with it every link) this LAN created."""
        for namespace in reversed(self._namespaces):
            with contextlib.suppress(RuntimeError):
                ip("netns", "delete", namespace)
        self._namespaces.clear()


def _tag() -> str:
    return f"{PREFIX}{os.getpid()}"


def remove_leftovers() -> None:
    """Deletes namespaces left by test runs whose process no longer exists."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in listed.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        pid = name.removeprefix(PREFIX).split("-")[0]
        if name.startswith(PREFIX) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            with contextlib.suppress(RuntimeError):
                ip("netns", "delete", name)


def create_lan(count: int, *, subnet: int = 0) -> Lan:
    """A LAN of `count` hosts behind one switch; call `destroy()` when done."""
    tag = _tag()
    lan = Lan(switch=f"{tag}-sw{subnet}")
    try:
        ip("netns", "add", lan.switch)
        lan._namespaces.append(lan.switch)
        ip("-n", lan.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", lan.switch, "link", "set", "br0", "up")
        for index in range(count):
            namespace = f"{tag}-s{subnet}h{index}"
            ip("netns", "add", namespace)
            lan._namespaces.append(namespace)
            port = f"p{index}"
            # Create the pair inside the switch, then move the host end into the host.
            ip("-n", lan.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0")
            ip("-n", lan.switch, "link", "set", "eth0", "netns", namespace)
            ip("-n", lan.switch, "link", "set", port, "master", "br0", "up")
            host = Host(
                namespace=namespace,
                interface="eth0",
                ipv4=f"10.231.{subnet}.{index + 1}",
                ipv6=f"fd00:6b7a:{subnet}::{index + 1}",
            )
            ip("-n", namespace, "link", "set", "lo", "up")
            ip("-n", namespace, "addr", "add", f"{host.ipv4}/24", "dev", "eth0")
            ip("-n", namespace, "addr", "add", f"{host.ipv6}/64", "dev", "eth0", "nodad")
            ip("-n", namespace, "link", "set", "eth0", "up")
            # Multicast (mDNS) goes out of the LAN interface.
            ip("-n", namespace, "route", "add", "224.0.0.0/4", "dev", "eth0")
            lan.hosts.append(host)
    except BaseException:
        lan.destroy()
        raise
    return lan


@contextlib.contextmanager
def lan(count: int, *, subnet: int = 0) -> Iterator[Lan]:
    """`create_lan` as a context manager that always removes what it made."""
    remove_leftovers()
    made = create_lan(count, subnet=subnet)
    try:
        yield made
    finally:
        made.destroy()


def run_in(host: Host, argv: Sequence[str], *, timeout: float = 30) -> str:
    """Runs a command inside a host and returns its stdout; raises on failure."""
    return run_in_namespace(host.namespace, argv, timeout=timeout)


def run_in_namespace(namespace: str, argv: Sequence[str], *, timeout: float = 30) -> str:
    """Runs a command inside a namespace and returns its stdout; raises on failure."""
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} in {namespace} failed: {done.stderr.strip()}")
    return done.stdout
