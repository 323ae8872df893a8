// Where a daemon keeps its files, and which target a client dials: the same rule as the Python
// client (kizuna_client/_layout.py and Kizuna._resolve_target), so every language finds the same
// daemon and token.

import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

import { KizunaClientError } from "./errors.js";

/** The environment the rule reads; `process.env` unless a caller passes its own. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The directories one daemon uses; `home` is undefined for the per-user XDG layout. */
export interface Layout {
  readonly home: string | undefined;
  readonly configFile: string;
  readonly dataDir: string;
  readonly runtimeDir: string;
  /** The Unix socket of the local gRPC API: `<runtime dir>/kizuna.sock`. */
  readonly socketPath: string;
  /** The bearer token TCP clients present: `<data dir>/api-token`. */
  readonly tokenFile: string;
  /** Written by the running daemon: the endpoints it listens on (`<runtime dir>/daemon.json`). */
  readonly endpointFile: string;
}

/**
 * The layout rule: explicit `home`, else `KIZUNA_HOME`, else the XDG directories.
 *
 * With a home H everything lives under it (H/config.toml, H/data, H/run). Without one: config in
 * `$XDG_CONFIG_HOME/kizuna`, data in `$XDG_DATA_HOME/kizuna` (default ~/.local/share/kizuna), the
 * socket in `$XDG_RUNTIME_DIR/kizuna` or, without a runtime directory, `/tmp/kizuna-<uid>`.
 * Relative XDG values are ignored, as the XDG spec says.
 */
export function resolveLayout(home?: string, env: Env = process.env): Layout {
  const chosen = home ?? (env["KIZUNA_HOME"] || undefined);
  if (chosen !== undefined) {
    const root = resolve(expandUser(chosen, env));
    return makeLayout(root, join(root, "config.toml"), join(root, "data"), join(root, "run"));
  }
  const userHome = env["HOME"] || homedir();
  const configHome = xdgDir(env, "XDG_CONFIG_HOME", join(userHome, ".config"));
  const dataHome = xdgDir(env, "XDG_DATA_HOME", join(userHome, ".local", "share"));
  const runtimeHome = env["XDG_RUNTIME_DIR"] ?? "";
  const runtimeDir = isAbsolute(runtimeHome)
    ? join(runtimeHome, "kizuna")
    : process.getuid !== undefined
      ? `/tmp/kizuna-${process.getuid()}`
      : join(tmpdir(), "kizuna");
  return makeLayout(
    undefined,
    join(configHome, "kizuna", "config.toml"),
    join(dataHome, "kizuna"),
    runtimeDir,
  );
}

function makeLayout(
  home: string | undefined,
  configFile: string,
  dataDir: string,
  runtimeDir: string,
): Layout {
  return {
    home,
    configFile,
    dataDir,
    runtimeDir,
    socketPath: join(runtimeDir, "kizuna.sock"),
    tokenFile: join(dataDir, "api-token"),
    endpointFile: join(runtimeDir, "daemon.json"),
  };
}

function xdgDir(env: Env, name: string, fallback: string): string {
  const value = env[name] ?? "";
  return isAbsolute(value) ? value : fallback;
}

function expandUser(path: string, env: Env): string {
  if (path === "~" || path.startsWith("~/")) {
    return join(env["HOME"] || homedir(), path.slice(1));
  }
  return path;
}

/** How to reach the daemon, as `resolveTarget` decided. */
export type ResolvedTarget =
  | {
      readonly transport: "unix";
      /** The target as written (`unix:/path`). */
      readonly target: string;
      readonly socketPath: string;
    }
  | {
      readonly transport: "tcp";
      /** The target as written (`host:port`). */
      readonly target: string;
      readonly host: string;
      readonly port: number;
      /** The bearer token every call carries. */
      readonly token: string;
    };

/** Where to find the daemon; every field is optional. */
export interface TargetOptions {
  /** `unix:/path/to/kizuna.sock` or `host:port`; overrides `KIZUNA_TARGET` and the home. */
  readonly target?: string | undefined;
  /** The daemon's home; overrides `KIZUNA_HOME`. */
  readonly home?: string | undefined;
  /**
   * The API token for a TCP target. Without it the token is read from `KIZUNA_TOKEN_FILE`,
   * daemon.json's `token_file` or the home's `data/api-token`, but only for a loopback target.
   */
  readonly token?: string | undefined;
  /** The environment to read (`KIZUNA_*`, `XDG_*`, `HOME`); defaults to `process.env`. */
  readonly env?: Env | undefined;
}

/**
 * Applies the rule that finds the daemon: the `target` option, else `KIZUNA_TARGET`, else the
 * Unix socket the running daemon published in its home's `run/daemon.json`, else the home's
 * default socket (`<runtime dir>/kizuna.sock`). A TCP target needs the API token: the `token`
 * option, else (loopback targets only) the file named by `KIZUNA_TOKEN_FILE`, else the
 * `token_file` daemon.json names, else `<data dir>/api-token`.
 *
 * Throws `KizunaClientError` (reason INVALID_ARGUMENT, metadata `field`) for a malformed target
 * or a token it cannot get.
 */
export function resolveTarget(options: TargetOptions = {}): ResolvedTarget {
  const env = options.env ?? process.env;
  const layout = resolveLayout(options.home, env);
  const target =
    options.target ||
    env["KIZUNA_TARGET"] ||
    publishedSocket(layout.endpointFile) ||
    `unix:${layout.socketPath}`;
  if (target.startsWith("unix:")) {
    let path = target.slice("unix:".length);
    if (path.startsWith("//")) path = path.slice(2); // unix:///abs/path, as gRPC writes it
    if (path === "") throw invalid(`target ${target} names no socket path`, "target");
    return { transport: "unix", target, socketPath: path };
  }
  const { host, port } = parseHostPort(target);
  let token = options.token;
  if (token === undefined) {
    if (!isLoopback(host)) {
      throw invalid(
        `${target} is not a loopback address: the API token is read from its file only for ` +
          "loopback targets; pass the token option explicitly",
        "token",
      );
    }
    const tokenFile =
      env["KIZUNA_TOKEN_FILE"] || publishedTokenFile(layout.endpointFile) || layout.tokenFile;
    try {
      token = readFileSync(tokenFile, "ascii").trim();
    } catch (err) {
      const why = err instanceof Error && "code" in err ? String(err.code) : String(err);
      throw invalid(
        `TCP target ${target} needs the API token; cannot read ${tokenFile} (${why}); pass the ` +
          "token option or set KIZUNA_TOKEN_FILE",
        "token",
      );
    }
    if (token === "") {
      throw invalid(`TCP target ${target} needs the API token; ${tokenFile} is empty`, "token");
    }
  }
  return { transport: "tcp", target, host, port, token };
}

/** The endpoints a running daemon published in its daemon.json; none when there is no file. */
function publishedEndpoints(endpointFile: string): Record<string, unknown>[] {
  let info: unknown;
  try {
    info = JSON.parse(readFileSync(endpointFile, "utf8"));
  } catch {
    // No daemon.json (no daemon running for this home) or a torn one: the defaults apply.
    return [];
  }
  if (typeof info !== "object" || info === null || !("endpoints" in info)) return [];
  const endpoints: unknown = info.endpoints;
  if (!Array.isArray(endpoints)) return [];
  return endpoints.filter(
    (e: unknown): e is Record<string, unknown> => typeof e === "object" && e !== null,
  );
}

/** The Unix socket a running daemon published in its daemon.json, if any. */
function publishedSocket(endpointFile: string): string | undefined {
  for (const endpoint of publishedEndpoints(endpointFile)) {
    const address = endpoint["address"];
    if (endpoint["transport"] === "unix" && typeof address === "string" && address !== "") {
      return `unix:${address}`;
    }
  }
  return undefined;
}

/** Where the running daemon keeps its API token (its TCP endpoint's `token_file`), if any. */
function publishedTokenFile(endpointFile: string): string | undefined {
  for (const endpoint of publishedEndpoints(endpointFile)) {
    const tokenFile = endpoint["token_file"];
    if (typeof tokenFile === "string" && tokenFile !== "") return tokenFile;
  }
  return undefined;
}

function parseHostPort(target: string): { host: string; port: number } {
  let rest = target;
  for (const prefix of ["dns:", "ipv4:", "ipv6:", "http:"]) {
    if (rest.startsWith(prefix)) rest = rest.slice(prefix.length);
  }
  if (rest.startsWith("//")) rest = rest.slice(2);
  if (rest.endsWith("/")) rest = rest.slice(0, -1);
  const colon = rest.lastIndexOf(":");
  const host = colon > 0 ? rest.slice(0, colon).replace(/^\[(.*)\]$/, "$1") : "";
  const port = colon > 0 ? Number(rest.slice(colon + 1)) : NaN;
  if (host === "" || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw invalid(`target ${target} is neither unix:/path nor host:port`, "target");
  }
  return { host, port };
}

/** Whether `host` is this machine: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost") return true;
  const mapped = bare.startsWith("::ffff:") ? bare.slice("::ffff:".length) : bare;
  if (isIP(mapped) === 4) return mapped.split(".")[0] === "127";
  if (isIP(bare) === 6) {
    const groups = expandIPv6(bare);
    return groups !== undefined && groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
  }
  return false;
}

function expandIPv6(address: string): number[] | undefined {
  const [head = "", tail] = address.split("::");
  const parse = (part: string): number[] =>
    part === "" ? [] : part.split(":").map((g) => parseInt(g, 16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = 8 - left.length - right.length;
  if (zeros < 0 || left.concat(right).some((g) => Number.isNaN(g))) return undefined;
  return [...left, ...new Array<number>(zeros).fill(0), ...right];
}

function invalid(message: string, field: string): KizunaClientError {
  return new KizunaClientError(message, "INVALID_ARGUMENT", { field });
}
