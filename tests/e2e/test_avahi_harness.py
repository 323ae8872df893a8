"""The avahi harness (tests/avahi.py) interoperates with python-zeroconf across a namespace LAN."""

import asyncio
import contextlib
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests import avahi, netns

TIMEOUT = 30.0
SERVICE_TYPE = "_kizunatest._tcp"
ZEROCONF_TYPE = f"{SERVICE_TYPE}.local."

#: Registers argv[1] on argv[2]'s interface, prints "registered", stays up until stdin closes.
ZEROCONF_REGISTER = """
import socket, sys
from zeroconf import ServiceInfo, Zeroconf
name, address, port, server = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
zc = Zeroconf(interfaces=[address])
info = ServiceInfo(
    "_kizunatest._tcp.local.", f"{name}._kizunatest._tcp.local.",
    addresses=[socket.inet_aton(address)], port=port,
    properties={"id": "ABC", "name": "x"}, server=server,
)
zc.register_service(info)
print("registered", flush=True)
sys.stdin.read()
zc.unregister_service(info)
zc.close()
"""

#: Browses on argv[2]'s interface until argv[1] appears, then prints it resolved, as JSON.
ZEROCONF_RESOLVE = """
import json, sys, threading
from zeroconf import ServiceBrowser, ServiceListener, Zeroconf
wanted, address, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
found = threading.Event()

class Listener(ServiceListener):
    def add_service(self, zc, type_, name):
        if name == wanted:
            found.set()
    update_service = add_service
    def remove_service(self, zc, type_, name):
        pass

zc = Zeroconf(interfaces=[address])
browser = ServiceBrowser(zc, "_kizunatest._tcp.local.", Listener())
try:
    if not found.wait(timeout):
        sys.exit(f"{wanted} not seen within {timeout} s")
    info = zc.get_service_info("_kizunatest._tcp.local.", wanted, timeout=int(timeout * 1000))
    if info is None:
        sys.exit(f"{wanted} not resolved within {timeout} s")
    print(json.dumps({
        "name": info.name,
        "port": info.port,
        "server": info.server,
        "addresses": info.parsed_addresses(),
        "txt": {k.decode(): (v or b"").decode() for k, v in info.properties.items()},
    }))
finally:
    browser.cancel()
    zc.close()
"""


@pytest.fixture
def lan() -> Iterator[netns.Lan]:
    avahi.require()
    with netns.lan(2) as made:
        yield made


@pytest.fixture
def daemon(lan: netns.Lan) -> Iterator[avahi.Avahi]:
    with avahi.avahi_in(lan.hosts[0]) as running:
        yield running


def test_parsable_lines_are_unescaped() -> None:
    line = (
        r"=;eth0;IPv4;kz\032test\032\195\169\.x\059y;_kizunatest._tcp;local;h.local;"
        r'10.231.0.2;4242;"id=A;B" "q=say \"hi\"" "name=\195\169" "flag" ""'
    )
    assert avahi.parse_line(line) == avahi.Record(
        interface="eth0",
        protocol="IPv4",
        name="kz test é.x;y",
        type="_kizunatest._tcp",
        domain="local",
        hostname="h.local",
        address="10.231.0.2",
        port=4242,
        txt={"id": "A;B", "q": 'say "hi"', "name": "é", "flag": ""},
    )
    assert avahi.parse_line("+;eth0;IPv4;kz;_kizunatest._tcp;local") is None


def _instance(label: str) -> str:
    """A unique instance name with characters avahi escapes (space, non-ASCII).

    No dot: python-zeroconf writes a name's dots as label separators, so it cannot register one.
    """
    return f"kz {label} é {secrets.token_hex(3)}"


def test_avahi_sees_a_zeroconf_service(lan: netns.Lan, daemon: avahi.Avahi) -> None:
    host = lan.hosts[1]
    name = _instance("zc")
    server = f"kz-zc-{secrets.token_hex(3)}.local."
    argv = host.command(sys.executable, "-c", ZEROCONF_REGISTER, name, host.ipv4, "4242", server)
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = avahi.Lines(process.stdout, "zeroconf")
        assert lines.wait_for(lambda line: line == "registered", TIMEOUT) == "registered"
        records = daemon.browse(
            SERVICE_TYPE, timeout=TIMEOUT, until=lambda seen: any(r.name == name for r in seen)
        )
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(TIMEOUT)
        finally:
            avahi.stop(process)
    (record,) = [r for r in records if r.name == name]
    assert record.interface == host.interface
    assert record.protocol == "IPv4"
    assert record.type == SERVICE_TYPE
    assert record.domain == "local"
    assert record.hostname == server.removesuffix(".")
    assert record.address == host.ipv4
    assert record.port == 4242
    assert record.txt == {"id": "ABC", "name": "x"}
    assert process.returncode == 0


async def test_zeroconf_sees_an_avahi_service(lan: netns.Lan, daemon: avahi.Avahi) -> None:
    # Async on purpose: this is how tests with a Kizuna daemon call the harness (to_thread).
    host = lan.hosts[1]
    stack = contextlib.ExitStack()
    try:
        published = await asyncio.to_thread(
            stack.enter_context,
            daemon.publish(_instance("avahi"), SERVICE_TYPE, 4243, {"id": "DEF", "name": "y"}),
        )
        full_name = f"{published.name}.{ZEROCONF_TYPE}"
        resolver = await asyncio.create_subprocess_exec(
            *host.command(
                sys.executable, "-c", ZEROCONF_RESOLVE, full_name, host.ipv4, str(TIMEOUT)
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(resolver.communicate(), TIMEOUT + 10)
        finally:
            if resolver.returncode is None:
                resolver.kill()
                await resolver.wait()
        assert resolver.returncode == 0, err.decode()
    finally:
        await asyncio.to_thread(stack.close)
    seen = json.loads(out)
    assert seen["name"] == full_name
    assert seen["port"] == 4243
    assert seen["server"] == f"{daemon.host_name}."
    assert lan.hosts[0].ipv4 in seen["addresses"]
    assert seen["txt"] == {"id": "DEF", "name": "y"}
