"""A two-port Ethernet relay that delays and drops frames: the impaired link between two test
hosts, since these kernels have no netem.

Run inside a switch namespace whose two ports are veth ends with offloads off (so every frame
fits the MTU): ``python -m tests.e2e.relay PORT_A PORT_B --delay-ms 40 --loss 0.02 --seed 1``.
Every frame one port receives leaves by the other after the delay, in order, unless the seeded
random draw drops it. ARP is never dropped (a lost ARP reply is not what the tests measure).
Prints "ready" once both ports listen; runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
from typing import Final

ETH_P_ALL: Final = 0x0003
ETH_P_ARP: Final = 0x0806
PACKET_OUTGOING: Final = 4
MAX_FRAME: Final = 65_536


def _port(name: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((name, 0))
    sock.setblocking(False)
    return sock


class Relay:
    def __init__(self, a: str, b: str, *, delay: float, loss: float, seed: int) -> None:
        self._ports = {a: _port(a), b: _port(b)}
        self._other = {a: b, b: a}
        self._delay = delay
        self._loss = loss
        self._random = random.Random(seed)
        self.relayed = 0
        self.dropped = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        for name, sock in self._ports.items():
            loop.add_reader(sock.fileno(), self._receive, loop, name, sock)

    def _receive(self, loop: asyncio.AbstractEventLoop, name: str, sock: socket.socket) -> None:
        while True:
            try:
                frame, address = sock.recvfrom(MAX_FRAME)
            except BlockingIOError:
                return
            if address[2] == PACKET_OUTGOING:
                continue  # our own send on this port
            ethertype = int.from_bytes(frame[12:14], "big")
            if ethertype != ETH_P_ARP and self._random.random() < self._loss:
                self.dropped += 1
                continue
            out = self._ports[self._other[name]]
            loop.call_later(self._delay, self._send, out, frame)

    def _send(self, sock: socket.socket, frame: bytes) -> None:
        try:
            sock.send(frame)
            self.relayed += 1
        except OSError:
            self.dropped += 1  # a full queue on the veth: counted as loss


async def main(args: argparse.Namespace) -> None:
    relay = Relay(args.a, args.b, delay=args.delay_ms / 1000, loss=args.loss, seed=args.seed)
    relay.start(asyncio.get_running_loop())
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--loss", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
