// Reading the daemon's errors: every failed call carries a google.rpc.Status whose details hold
// one google.rpc.ErrorInfo (domain "kizuna.v1", reason such as "PEER_NOT_FOUND", metadata with
// the reason's keys). Connect decodes the grpc-status-details-bin trailer into
// ConnectError.details; findDetails(ErrorInfoSchema) turns them into messages.

import { Code, ConnectError } from "@connectrpc/connect";

import { type ErrorInfo, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

/** The ErrorInfo domain of the daemon's errors. */
export const ERROR_DOMAIN = "kizuna.v1";

/** The gRPC status code each reason a client raises by itself goes with (docs/errors.md). */
const CLIENT_REASON_CODES: Readonly<Record<string, Code>> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
};

/**
 * An error this library raises before any call (a malformed target, a token it cannot read).
 *
 * It is a ConnectError like the daemon's own, carrying an ErrorInfo with domain kizuna.v1, so
 * `errorReason(err)` and `errorMetadata(err)` read it the same way (the Python client raises
 * `InvalidArgumentError` with metadata `field` in the same cases).
 */
export class KizunaClientError extends ConnectError {
  constructor(message: string, reason: string, metadata: Record<string, string> = {}) {
    super(message, CLIENT_REASON_CODES[reason] ?? Code.Unknown, undefined, [
      { desc: ErrorInfoSchema, value: { domain: ERROR_DOMAIN, reason, metadata } },
    ]);
    // Keep the name: ConnectError's instanceof check accepts subclasses by it.
    this.name = "ConnectError";
  }
}

/** The kizuna.v1 ErrorInfo an error carries, if any. */
export function errorInfo(err: unknown): ErrorInfo | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  return err.findDetails(ErrorInfoSchema).find((info) => info.domain === ERROR_DOMAIN);
}

/**
 * The machine-readable reason of a failed call: the ErrorInfo reason with domain kizuna.v1
 * ("PEER_NOT_FOUND", "TRANSFER_INVALID_STATE", ...). Branch on it, never on the message text.
 *
 * An error without one (the daemon could not be reached, the call timed out or was cancelled
 * here) gives its gRPC code name instead: "UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED".
 * Anything that is not a ConnectError gives "UNKNOWN".
 */
export function errorReason(err: unknown): string {
  const info = errorInfo(err);
  if (info !== undefined && info.reason !== "") return info.reason;
  return codeName(err instanceof ConnectError ? err.code : Code.Unknown);
}

/** The metadata of the error's kizuna.v1 ErrorInfo (for example `{peer_id: "..."}`), or `{}`. */
export function errorMetadata(err: unknown): Record<string, string> {
  return { ...(errorInfo(err)?.metadata ?? {}) };
}

/** gRPC's name for a status code, as the other languages print it: Code.NotFound → "NOT_FOUND". */
export function codeName(code: Code): string {
  if (code === Code.Canceled) return "CANCELLED"; // gRPC spells it with two Ls
  const name = Code[code];
  return typeof name === "string"
    ? name.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase()
    : String(code);
}
