"""The namespace LAN the multi-device tests run on: hosts reach each other, multicast crosses."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests import netns

TIMEOUT = 30

ECHO_SERVER = """
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
with socket.socket(family) as s:
    s.bind((sys.argv[1], 0)); s.listen()
    print(s.getsockname()[1], flush=True)
    conn, _ = s.accept()
    conn.sendall(conn.recv(100).upper())
"""

ECHO_CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as s:
    s.sendall(b"hello"); print(s.recv(100).decode())
"""

MULTICAST_LISTENER = """
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton("224.0.0.251"), socket.inet_aton(sys.argv[1])))
s.settimeout(20)
print("listening", flush=True)
data, (sender, _) = s.recvfrom(100)
print(data.decode(), sender, flush=True)
"""

MULTICAST_SENDER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
s.sendto(b"kizuna-probe", ("224.0.0.251", 5353))
"""


@pytest.fixture
def lan() -> Iterator[netns.Lan]:
    netns.require()
    with netns.lan(3) as made:
        yield made


async def _spawn(host: netns.Host, program: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *host.command(sys.executable, "-c", program, *args), stdout=asyncio.subprocess.PIPE
    )


async def _line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode().strip()


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
async def test_hosts_reach_each_other(lan: netns.Lan, family: str) -> None:
    a, b, _ = lan.hosts
    server = await _spawn(b, ECHO_SERVER, getattr(b, family))
    port = await _line(server)
    client = await _spawn(a, ECHO_CLIENT, getattr(b, family), port)
    assert await _line(client) == "HELLO"
    await asyncio.wait_for(asyncio.gather(server.wait(), client.wait()), TIMEOUT)


async def test_multicast_reaches_every_other_host(lan: netns.Lan) -> None:
    a, b, c = lan.hosts
    listeners = [await _spawn(h, MULTICAST_LISTENER, h.ipv4) for h in (b, c)]
    for listener in listeners:
        assert await _line(listener) == "listening"
    sender = await _spawn(a, MULTICAST_SENDER, a.ipv4)
    await asyncio.wait_for(sender.wait(), TIMEOUT)
    for listener in listeners:
        assert await _line(listener) == f"kizuna-probe {a.ipv4}"


def test_namespaces_are_removed(lan: netns.Lan) -> None:
    names = [h.namespace for h in lan.hosts] + [lan.switch]
    lan.destroy()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not set(names) & {line.split()[0] for line in listed.stdout.splitlines() if line}
