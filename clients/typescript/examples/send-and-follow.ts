// Sends one file to a paired peer and follows it to the end.
//
//     node dist/examples/send-and-follow.js PEER_ID FILE
//
// Prints, one per line:
//   peer <id> <connected>          for each peer ListPeers returns (connected: true/false)
//   error <REASON>                 GetPeer of an unknown ID, the reason read from ErrorInfo
//   transfer <id>                  once CreateTransfer answers
//   progress <bytes_done> <total>  for each transfer_progress event of that transfer
//   completed <id> <bytes>         at the end; exit 0
// A transfer that fails or is cancelled prints `failed <id> <REASON>` or `cancelled <id>
// <REASON>` and exits 1. It subscribes to events, and waits for the subscription's start
// message, before it sends: no event of its transfer can be missed.
//
// The daemon is found as every Kizuna client finds it: KIZUNA_TARGET, else KIZUNA_HOME's
// daemon.json / socket, else this user's daemon (see src/layout.ts).
//
// 64-bit fields (uint64 bytes_done, total_bytes, sequence) are `bigint` in protobuf-es v2:
// template strings print them as digits, but JSON.stringify throws on them and mixing them
// with `number` arithmetic is a type error; convert explicitly when needed (Number(x) is exact
// up to 2^53 bytes, 8 PiB).

import { resolve } from "node:path";

import { toJson } from "@bufbuild/protobuf";

import {
  connect,
  type Event,
  EventGapSchema,
  ErrorReason,
  errorReason,
  type Kizuna,
  Peer_Connection,
  type Transfer,
  Transfer_State,
} from "../src/index.js"; // in your own project: from "@kizuna/client"

/** A device ID no daemon knows (52 base32 characters). */
const UNKNOWN_PEER = "A".repeat(52);

async function main(argv: string[]): Promise<number> {
  const [peerId, file] = argv;
  if (peerId === undefined || file === undefined || argv.length !== 2) {
    console.error("usage: send-and-follow PEER_ID FILE");
    return 2;
  }
  const kizuna = connect();

  const { peers } = await kizuna.peers.listPeers({});
  for (const peer of peers) {
    const connected = peer.connection === Peer_Connection.CONNECTED;
    console.log(`peer ${peer.deviceId} ${connected}`);
  }

  try {
    await kizuna.peers.getPeer({ peerId: UNKNOWN_PEER });
    console.error(`GetPeer(${UNKNOWN_PEER}) unexpectedly succeeded`);
    return 1;
  } catch (err) {
    console.log(`error ${errorReason(err)}`);
  }

  return await sendAndFollow(kizuna, peerId, resolve(file));
}

async function sendAndFollow(kizuna: Kizuna, peerId: string, path: string): Promise<number> {
  const stop = new AbortController();
  try {
    // Subscribe first; the first message (carrying `start`) says the subscription is
    // registered, so every event from then on reaches this stream.
    const events = kizuna.events.subscribeEvents({}, { signal: stop.signal });
    const stream = events[Symbol.asyncIterator]();
    for (;;) {
      const first = await stream.next();
      if (first.done) throw new Error("the event stream ended before it started");
      if (first.value.start !== undefined) break;
    }

    // Events of the transfer that arrive before CreateTransfer answers wait in the stream.
    const created = await kizuna.transfers.createTransfer({ peerId, paths: [path] });
    const id = created.transfer?.id;
    if (id === undefined || id === "") throw new Error("CreateTransfer returned no transfer");
    console.log(`transfer ${id}`);

    for (;;) {
      const next = await stream.next();
      if (next.done) break;
      const { gap, events: batch } = next.value;
      if (gap !== undefined) {
        // Events were lost (this reader fell behind): the transfer's state tells the end.
        // toJson spells enums by name and 64-bit integers as strings, so JSON.stringify works
        // (on the message itself it would throw: "Do not know how to serialize a BigInt").
        console.error(`events missed: ${JSON.stringify(toJson(EventGapSchema, gap))}`);
        const { transfer } = await kizuna.transfers.getTransfer({ transferId: id });
        const outcome = transfer !== undefined ? outcomeOf(transfer) : undefined;
        const code = outcome !== undefined ? ended(transfer, id, outcome) : undefined;
        if (code !== undefined) return code;
      }
      for (const event of batch) {
        const code = follow(event, id);
        if (code !== undefined) return code;
      }
    }
    console.error("the event stream ended before the transfer did (the daemon stopped?)");
    return 1;
  } finally {
    // Ends the subscription. Needed: a Connect stream left unread stays open (leaving a
    // `for await` loop does not cancel it) and would keep the process from exiting.
    stop.abort();
  }
}

/** Prints what an event says about transfer `id`; returns the exit code once it ended. */
function follow(event: Event, id: string): number | undefined {
  const { payload } = event;
  switch (payload.case) {
    case "transferProgress":
      if (payload.value.transferId === id) {
        // bigint values: printed as plain digits by the template string.
        console.log(`progress ${payload.value.bytesDone} ${payload.value.totalBytes}`);
      }
      return undefined;
    case "transferCompleted":
      return ended(payload.value.transfer, id, "completed");
    case "transferFailed":
      return ended(payload.value.transfer, id, "failed");
    case "transferCancelled":
      return ended(payload.value.transfer, id, "cancelled");
    default:
      return undefined;
  }
}

type Outcome = "completed" | "failed" | "cancelled";

/** Prints how transfer `id` ended and returns the exit code; undefined for another transfer. */
function ended(transfer: Transfer | undefined, id: string, outcome: Outcome): number | undefined {
  if (transfer === undefined || transfer.id !== id) return undefined;
  if (outcome === "completed") {
    console.log(`completed ${transfer.id} ${transfer.bytesDone}`);
    return 0;
  }
  console.log(`${outcome} ${transfer.id} ${reasonOf(transfer)}`);
  return 1;
}

/** The outcome of a transfer in a final state, read with GetTransfer; undefined while it runs. */
function outcomeOf(transfer: Transfer): Outcome | undefined {
  switch (transfer.state) {
    case Transfer_State.COMPLETED:
      return "completed";
    case Transfer_State.FAILED:
      return "failed";
    case Transfer_State.CANCELLED:
      return "cancelled";
    default:
      return undefined;
  }
}

/** The reason in a transfer's error ("PEER_UNREACHABLE"), from the ErrorReason enum's name. */
function reasonOf(transfer: Transfer): string {
  const reason = transfer.error?.reason ?? ErrorReason.UNSPECIFIED;
  const name = ErrorReason[reason];
  return name !== undefined ? name : String(reason);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`send-and-follow: ${errorReason(err)}: ${message}`);
    process.exitCode = 1;
  },
);
