"""This daemon's side of the peer ports: where they listen, binding them, and what it says of
itself on them.

Apart from the rest of the peer network because it is settled once, at start, and read by
everything after: links send the DeviceInfo and link port in every Hello and Introduce, pairing
sends them in PairStart and PairAnswer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc.aio
import ifaddr

from kizuna_server.errors import KizunaError
from kizuna_server.p2p.identity import Identity
from kizuna_server.p2p.tls import link_server_credentials, pairing_server_credentials
from kizuna_server.p2p.wire import device_pb2


class PeerPortsUnavailable(KizunaError):
    """The link port or the pairing port (link port + 1) cannot be bound."""

    reason = "INTERNAL"


class _BindFailed(Exception):
    """One address of a group could not be bound (`where`: the address and why)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


@dataclass(eq=False)
class LocalDevice:
    """This daemon as peers see it, shared by reference: capabilities are added to `info`
    before the start (`PeerNetwork.offer`) and the ports are known only once bound."""

    info: device_pb2.DeviceInfo
    link_port: int = 0
    pairing_port: int = 0


def may_dial(host: str, *, ipv6: bool) -> bool:
    """Whether `host` is of a family this daemon uses (networking.enable_ipv6)."""
    return ipv6 or ":" not in host


def bind_hosts(listen_address: str, *, ipv6: bool, ipv4: Sequence[str] = ()) -> list[list[str]]:
    """Where the peer ports listen: groups of addresses bound together, the first group that
    can be bound wins. `listen_address` when set; otherwise every address (other daemons
    reach this one on the LAN): dual-stack "[::]", else "0.0.0.0". With networking.enable_ipv6
    false, each of the `ipv4` addresses (this machine's, at start): grpc turns a wildcard
    "0.0.0.0" into a dual-stack socket, which would listen on IPv6 too."""
    if listen_address:
        try:
            version = ipaddress.ip_address(listen_address.strip("[]")).version
        except ValueError:
            version = 4
        if version == 6 and not ipv6:
            raise PeerPortsUnavailable(
                f"networking.listen_address {listen_address} is IPv6 but "
                "networking.enable_ipv6 is false"
            )
        return [[listen_address]]
    if ipv6:
        return [["[::]"], ["0.0.0.0"]]  # noqa: S104
    if not ipv4:
        raise PeerPortsUnavailable("networking.enable_ipv6 is false and no IPv4 address is up")
    return [list(ipv4)]


def local_ipv4() -> list[str]:
    """This machine's IPv4 addresses now, loopback included."""
    return sorted(
        {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if isinstance(ip.ip, str)}
    )


def endpoints(listen_address: str, *, ipv6: bool, link_port: int, pairing_port: int) -> list[str]:
    """Where other daemons connect: the link port and the pairing port."""
    host = listen_address or ("[::]" if ipv6 else "0.0.0.0")  # noqa: S104
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return [f"{host}:{link_port}", f"{host}:{pairing_port}"]


def bind(
    build: Callable[[], tuple[grpc.aio.Server, grpc.aio.Server]],
    identity: Identity,
    roots: Callable[[], tuple[int, bytes]],
    *,
    listen_address: str,
    listen_port: int,
    ipv6: bool,
) -> tuple[grpc.aio.Server, grpc.aio.Server, int]:
    """Binds the link port and the pairing port (link port + 1) on every address of the
    first group of `bind_hosts` that can be bound; retries when the port is 0.

    `build()` makes a fresh pair of servers for each try (a server keeps the ports it bound);
    `roots()` is the link port's root list (see `tls.link_server_credentials`). Returns the
    servers and the link port.
    """
    groups = bind_hosts(listen_address, ipv6=ipv6, ipv4=local_ipv4())
    last = ""
    for _ in range(20 if listen_port == 0 else 1):
        for hosts in groups:
            link, pairing = build()
            try:
                port = _bind_group(
                    link, pairing, hosts, listen_port, identity=identity, roots=roots
                )
            except _BindFailed as failed:
                last = failed.where
                continue
            return link, pairing, port
    raise PeerPortsUnavailable(
        f"cannot listen for peers on {last} (the link port and the next one must both be "
        "free); set networking.listen_port to a free port, or 0 to pick one"
    )


def _bind_group(
    link: grpc.aio.Server,
    pairing: grpc.aio.Server,
    hosts: list[str],
    port: int,
    *,
    identity: Identity,
    roots: Callable[[], tuple[int, bytes]],
) -> int:
    """Binds both ports on each of `hosts` (port 0: the first picks one for all)."""
    for host in hosts:
        bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        where = f"{bind_host}:{port or 'any'}"
        try:
            bound = link.add_secure_port(
                f"{bind_host}:{port}", link_server_credentials(identity, roots)
            )
            if not 0 < bound < 65535 or (port and bound != port):
                raise _BindFailed(f"{where}: bound port {bound}")
            port = bound
            pairing.add_secure_port(f"{bind_host}:{port + 1}", pairing_server_credentials(identity))
        except RuntimeError as exc:
            raise _BindFailed(f"{where}: {exc}") from exc
    return port
