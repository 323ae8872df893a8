"""File transfer: send a file to a peer and follow it, or receive one and see where it landed.

Two roles, one on each device; start the receiver first:

    python examples/file_transfer.py receive                  # waits for an offer, accepts it
    python examples/file_transfer.py send report.pdf          # to the first peer found
    python examples/file_transfer.py send report.pdf kitchen-laptop --yes

`send PATH [PEER]` connects to the peer (PEER: its name, device ID or the start of the ID; pairing
first if the two devices never met, --yes confirming the code here), offers the file and prints
its progress with `percentage()` until it ends. `receive` waits for a `transfer_offered` event,
accepts the offer, follows it to the end and prints where each file was saved (in the inbox,
`transfers.inbox`). Either role gives up after --timeout seconds (default 300). The work is done
by this device's daemon: the one of $KIZUNA_HOME, or this user's.
"""

import argparse
import asyncio
import sys
from pathlib import Path

from kizuna import EventGap, Kizuna, PairingInfo, PeerInfo, TransferInfo, TransferProgress


def choose(peers: list[PeerInfo], wanted: str | None) -> PeerInfo | None:
    """The peer `wanted` names (its name, its device ID or the start of it), or the first."""
    if wanted is None:
        return peers[0] if peers else None
    named = [peer for peer in peers if peer.name == wanted]
    prefix = wanted.replace("-", "").upper()
    if not named and len(prefix) >= 4:
        named = [peer for peer in peers if peer.id.startswith(prefix)]
    return named[0] if named else None


def show(progress: TransferProgress) -> None:
    print(
        f"  {progress.state:<12} {progress.percentage():5.1f}%  "
        f"{progress.bytes_transferred}/{progress.total_bytes} bytes  "
        f"{progress.speed_bps / 1e6:.1f} MB/s",
        flush=True,
    )


async def send(args: argparse.Namespace) -> int:
    path = Path(args.path)
    print(f"Preparing to transfer: {path.name}")

    print("\nInitializing Kizuna...")
    kizuna = Kizuna()

    def show_code(pairing: PairingInfo) -> bool | None:
        print(f"\nPairing with {pairing.peer_name or pairing.peer_id}: the code is {pairing.code}")
        if args.yes:
            print("Confirmed here (--yes). Confirm the same code on the other device.", flush=True)
            return True
        print("Compare it with the other device's code; if they match, confirm on both.")
        print("Waiting...", flush=True)
        return None

    try:
        async with asyncio.timeout(args.timeout):
            print("Discovering peers...")
            peers = await kizuna.discover_peers()
            target = choose(peers, args.peer)
            if target is None:
                print(f"Peer {args.peer!r} not found." if args.peer else "No peers found.")
                return 1

            print(f"\nTransferring to: {target.name}")
            connection = await kizuna.connect_to_peer(target.id, on_pairing=show_code)
            print(f"Connected to {connection.peer_id}")

            handle = await kizuna.transfer_file(path, target.id)
            print(f"Transfer started: {handle.transfer_id} ({handle.info.total_bytes} bytes)")
            print(f"Waiting for {target.name} to accept, then sending...")
            last = None
            async for progress in handle:  # the current state at once, then every change
                shown = (progress.state, round(progress.percentage()))
                if shown != last:
                    show(progress)
                    last = shown
            info = await handle  # the final record; raises if the transfer failed
            print(f"Transfer {info.state}: {info.bytes_done} bytes sent")
            return 0 if info.state == "completed" else 1

    except TimeoutError:
        print(f"Gave up after {args.timeout:g} s.")
        return 1
    except RuntimeError as e:  # every Kizuna error is a RuntimeError, as in the seed
        print(f"Error during transfer: {e}")
        return 1

    finally:
        print("\nShutting down...")
        await kizuna.shutdown()
        print("Done!")


async def wait_for_offer(kizuna: Kizuna) -> TransferInfo:
    """The next offer that arrives (or one already waiting, if events were missed)."""
    async with kizuna.subscribe_events(types=["transfer_offered"]) as events:
        await events.started()  # from here on, no offer can slip past
        print("Waiting for a transfer offer...", flush=True)
        async for event in events:
            if isinstance(event, EventGap):  # events were missed: look at what is waiting
                waiting = await kizuna.transfers(direction="incoming", states=["pending"])
                if waiting:
                    return waiting[0]
                continue
            # A transfer_offered event's payload is a kizuna.v1.TransferOffered message whose
            # `transfer` field is the offer: event.payload.transfer.id is the transfer ID.
            # `event.transfer` is that same offer as a typed TransferInfo (the seed's JSON
            # form: json.loads(event.data)["transfer"]["id"]).
            offer = event.transfer
            if offer is not None:
                return offer
    raise RuntimeError("the daemon ended the event stream")


async def receive(args: argparse.Namespace) -> int:
    print("Initializing Kizuna...")
    kizuna = Kizuna()

    try:
        async with asyncio.timeout(args.timeout):
            offer = await wait_for_offer(kizuna)
            sender = offer.peer_name or offer.peer_id
            print(
                f"\nOffer {offer.id} from {sender}: {offer.total_files} file(s), "
                f"{offer.total_bytes} bytes"
            )
            for file in offer.files:
                print(f"  {file.path} ({file.size} bytes)")

            handle = await kizuna.accept_transfer(offer.id)
            print(f"Accepted transfer {handle.transfer_id}")
            async for progress in handle:
                show(progress)
            info = await handle  # the final record; raises if the transfer failed
            print(f"Transfer {info.state}: {info.bytes_done} bytes received")

            # saved_path is relative to the inbox: it differs from the sender's name when a
            # file of that name was already there ("report (1).pdf").
            inbox = Path((await kizuna.config())["transfers"]["inbox"])
            for file in info.files:
                if file.saved_path:
                    print(f"Saved {file.path} to {inbox / file.saved_path}")
            return 0 if info.state == "completed" else 1

    except TimeoutError:
        print(f"No transfer finished within {args.timeout:g} s.")
        return 1
    except RuntimeError as e:
        print(f"Error while receiving: {e}")
        return 1

    finally:
        print("\nShutting down...")
        await kizuna.shutdown()
        print("Done!")


def parse_args() -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    parser = argparse.ArgumentParser(description="Send a file to a peer, or receive one.")
    roles = parser.add_subparsers(dest="role", required=True)
    sending = roles.add_parser("send", parents=[common], help="send a file")
    sending.add_argument("path", help="the file to send")
    sending.add_argument("peer", nargs="?", help="name, device ID or ID prefix (default: first)")
    sending.add_argument("--yes", action="store_true", help="confirm a pairing code here")
    roles.add_parser("receive", parents=[common], help="accept the next file offered here")
    args = parser.parse_args()
    if args.role == "send" and not Path(args.path).is_file():
        parser.error(f"not a file: {args.path}")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    role = send if arguments.role == "send" else receive
    sys.exit(asyncio.run(role(arguments)))
