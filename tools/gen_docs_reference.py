"""Writes the documentation site's generated reference pages (run by mkdocs-gen-files).

- ``reference/configuration.md``: every key of the daemon's configuration schema
  (`kizuna_server.config._SCHEMA`) with its default, its allowed values, its environment
  variable and the notes written beside it in config.py.
- ``reference/errors.md``: every `kizuna.v1.ErrorReason` value (from the generated
  `errors_pb2`), with the status code, meaning and metadata its comment in
  proto/kizuna/v1/errors.proto gives, and the Python exception raised for it.

Nothing here is committed output: `mkdocs build` runs this script (mkdocs.yml, plugin
``gen-files``) and the pages exist only in the build. A reason without a comment, a comment
that does not start with its status code, or a code that differs from the one the daemon sends
stops the build. ``python tools/gen_docs_reference.py OUT_DIR`` writes the same pages to a
folder, for a look without MkDocs.
"""

import ast
import dataclasses
import inspect
import json
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final
from unittest import mock

from kizuna_client._layout import Layout, resolve_layout
from kizuna_client.errors import ERRORS_BY_REASON
from kizuna_client.v1 import errors_pb2
from kizuna_server import config
from kizuna_server.calls.errors import REASON_CODES

ROOT: Final = Path(__file__).resolve().parents[1]
ERRORS_PROTO: Final = ROOT / "proto" / "kizuna" / "v1" / "errors.proto"
CONFIG_PAGE: Final = "reference/configuration.md"
ERRORS_PAGE: Final = "reference/errors.md"
_REASON_PREFIX: Final = "ERROR_REASON_"

# Placeholders the derived defaults are computed with, so the page shows no machine's values.
_HOST: Final = "HOSTNAME"
_HOME: Final = "/HOME"
_RUNTIME: Final = "/$XDG_RUNTIME_DIR"


# --- configuration ----------------------------------------------------------------------------


def _key_comments(module_source: str) -> dict[tuple[str, str], str]:
    """The comment lines written just above each key of the `_SCHEMA` literal in config.py."""
    lines = module_source.splitlines()
    tree = ast.parse(module_source)
    schema: ast.Dict | None = None
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "_SCHEMA"
            and isinstance(node.value, ast.Dict)
        ):
            schema = node.value
    if schema is None:
        raise SystemExit("tools/gen_docs_reference.py: no _SCHEMA literal in config.py")
    comments: dict[tuple[str, str], str] = {}
    for section_node, table in zip(schema.keys, schema.values, strict=True):
        if not isinstance(section_node, ast.Constant) or not isinstance(table, ast.Dict):
            continue
        section = str(section_node.value)
        for key_node in table.keys:
            if not isinstance(key_node, ast.Constant):
                continue
            key = str(key_node.value)
            above: list[str] = []
            index = key_node.lineno - 2  # the line before the key, 0-based
            while index >= 0 and lines[index].lstrip().startswith("#"):
                above.insert(0, lines[index].lstrip().removeprefix("#").strip())
                index -= 1
            if above:
                comments[section, key] = " ".join(above)
    return comments


def _toml(value: object) -> str:
    """A default as it would be written in config.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    raise TypeError(f"no TOML spelling for {value!r}")


def _code(text: str) -> str:
    return f"`{text}`"


def _in_cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return text.replace("|", "\\|")


@contextmanager
def _placeholder_machine() -> Iterator[None]:
    """The host name and home folder read by derived defaults, replaced by placeholders."""
    with (
        mock.patch.dict(os.environ, {"HOME": "~"}),
        mock.patch.object(socket, "gethostname", return_value=_HOST),
    ):
        os.environ.pop("XDG_DOWNLOAD_DIR", None)
        yield


def _layouts() -> list[tuple[str, Layout]]:
    """The two layouts a default can derive from, with placeholder folders."""
    with_home = resolve_layout(_HOME, env={})
    per_user = resolve_layout(env={"HOME": "~", "XDG_RUNTIME_DIR": _RUNTIME})
    return [("with `--home HOME`", with_home), ("without a home", per_user)]


def _derived_default(factory: Callable[[Layout], object]) -> str:
    shown: list[tuple[str, str]] = []
    with _placeholder_machine():
        for label, layout in _layouts():
            value = str(factory(layout))
            if value.startswith((_HOME, _RUNTIME)):  # the placeholders are absolute paths
                value = value.removeprefix("/")
            shown.append((label, value))
    if len({value for _, value in shown}) == 1:
        return _code(shown[0][1])
    return "; ".join(f"{_code(value)} {label}" for label, value in shown)


def _default(field: "config._Field") -> str:
    if field.default_factory is not None:
        return _derived_default(field.default_factory)
    return _code(_toml(field.default))


def _allowed(kind: "config._Kind") -> str:
    """The values a kind accepts, in Markdown; other kinds say it as their error messages do."""
    if isinstance(kind, config._Fixed):
        return f"only {_code(_toml(kind.value))}"
    if isinstance(kind, config._Choice):
        return "one of " + ", ".join(_code(_toml(option)) for option in kind.options)
    if isinstance(kind, config._Path) and kind.unix_socket:
        return (
            f"a file path of at most {config._MAX_SOCKET_PATH_BYTES} bytes once absolute "
            "(a Unix socket's limit)"
        )
    if isinstance(kind, config._List):
        unique = ", each at most once" if kind.unique else ""
        return f"a list of {kind.noun} (each {kind.item.expected}{unique})"
    return kind.expected


def _environment(section: str, key: str, kind: "config._Kind") -> str:
    if isinstance(kind, config._CommandList | config._PluginList):
        return "config file only"
    names = [name for name, where in config._ENV_NAMES.items() if where == (section, key)]
    return _code(names[0])


def _notes(section: str, key: str, field: "config._Field", comments: Mapping[str, str]) -> str:
    notes: list[str] = []
    name = f"{section}.{key}"
    if name in comments and name not in config.PREFERENCES:  # PREFERENCES says it for users
        notes.append(comments[name])
    if isinstance(field.kind, config._Fixed):
        notes.append(field.kind.reason[0].upper() + field.kind.reason[1:] + ".")
    if name in config.PREFERENCES:
        instead = config.PREFERENCES[name]
        notes.append(
            f"A preference: `true` is accepted, logged once at start and listed in the "
            f"configuration's notes; {instead}."
        )
    return " ".join(notes)


def config_reference() -> str:
    """The Markdown of the configuration reference page."""
    source = inspect.getsource(config)
    comments = {f"{s}.{k}": text for (s, k), text in _key_comments(source).items()}
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by tools/gen_docs_reference.py from server/kizuna_server/config.py "
        "at build time; do not edit. -->",
        "",
        "Every key the daemon accepts, generated from the schema in "
        "`server/kizuna_server/config.py` when this site is built. How the sources of "
        "settings combine, what `kizuna config` shows and a worked example are in "
        "[Configuration](../configuration.md).",
        "",
        "- In `config.toml` a key is written in its section: `[discovery]` then "
        '`interval_secs = 60`. Types are strict there: `"60"` is not an integer.',
        "- From the environment the same key is `KIZUNA_DISCOVERY_INTERVAL_SECS=60`, and with "
        "`kizuna daemon --set discovery.interval_secs=60`: text, read as the key's type "
        "(`true/false`, `yes/no`, `on/off` or `1/0` for switches; lists separated by commas).",
        "- Relative paths in the file are taken from the file's folder; from the environment "
        "or `--set`, from the current folder.",
        "- `HOME` below is the daemon's home (`--home` or `KIZUNA_HOME`); "
        f"`{_HOST}` is the machine's host name.",
        "",
    ]
    for section, fields in config._SCHEMA.items():
        out += [f"## `[{section}]` {{ #{section} }}", ""]
        for key, field in fields.items():
            name = f"{section}.{key}"
            notes = _notes(section, key, field, comments)
            out += [f"### `{name}` {{ #{name} }}", ""]
            if notes:
                out += [notes, ""]
            out += [
                f"- Default: {_default(field)}",
                f"- Allowed: {_allowed(field.kind)}",
                f"- Environment: {_environment(section, key, field.kind)}",
                "",
            ]
    derived = [f.name for f in dataclasses.fields(config.PathsConfig)]
    reserved = sorted(config.RESERVED_ENV_VARS)
    out += [
        "## Not settings",
        "",
        "The `[paths]` section that `kizuna config` shows ("
        + ", ".join(_code(f"paths.{name}") for name in derived)
        + ") comes from `--home` / `KIZUNA_HOME` and `--config`, never from a file. These "
        "environment variables steer the daemon or the command line without being settings: "
        + ", ".join(_code(name) for name in reserved)
        + ". Any other `KIZUNA_*` variable that names no key stops the daemon.",
        "",
    ]
    return "\n".join(out)


# --- errors -----------------------------------------------------------------------------------

_VALUE_LINE: Final = re.compile(r"\s*(ERROR_REASON_[A-Z0-9_]+)\s*=\s*(\d+)\s*;")
_CODE_FIRST: Final = re.compile(r"([A-Z_]+)\.\s+(.*)", re.DOTALL)


def _reason_comments(proto: str) -> dict[str, str]:
    """Each ErrorReason value's leading comment in errors.proto, its lines joined."""
    body = proto.split("enum ErrorReason {", 1)[1].split("\n}", 1)[0]
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("//"):
            pending.append(stripped.removeprefix("//").strip())
        elif match := _VALUE_LINE.match(line):
            comments[match[1]] = " ".join(pending)
            pending = []
        else:
            pending = []
    return comments


@dataclasses.dataclass(frozen=True)
class Reason:
    name: str  # without the ERROR_REASON_ prefix
    number: int
    code: str
    meaning: str
    metadata: str
    exception: str


def reasons() -> list[Reason]:
    """Every ErrorReason the API defines, described by its comment in errors.proto."""
    comments = _reason_comments(ERRORS_PROTO.read_text(encoding="utf-8"))
    found: list[Reason] = []
    for value in errors_pb2.ErrorReason.DESCRIPTOR.values:
        if value.number == errors_pb2.ERROR_REASON_UNSPECIFIED:
            continue
        name = value.name.removeprefix(_REASON_PREFIX)
        comment = comments.get(value.name, "")
        match = _CODE_FIRST.fullmatch(comment)
        if match is None:
            raise SystemExit(
                f"{ERRORS_PROTO}: {value.name} needs a comment that starts with its gRPC "
                "status code, as in '// NOT_FOUND. No peer with that device ID is known.'"
            )
        code, text = match[1], match[2]
        if name in REASON_CODES and REASON_CODES[name].name != code:
            raise SystemExit(
                f"{ERRORS_PROTO}: {value.name} says {code} but the daemon sends "
                f"{REASON_CODES[name].name} (server/kizuna_server/calls/errors.py)"
            )
        meaning, _, metadata = text.partition(" Metadata: ")
        exception = ERRORS_BY_REASON.get(name)
        found.append(
            Reason(
                name=name,
                number=value.number,
                code=code,
                meaning=meaning.strip(),
                metadata=metadata.strip().removesuffix("."),
                exception=exception.__name__ if exception is not None else "",
            )
        )
    return found


def errors_reference() -> str:
    """The Markdown of the error reference page."""
    found = reasons()
    out = [
        "# Error reference",
        "",
        "<!-- Generated by tools/gen_docs_reference.py from proto/kizuna/v1/errors.proto "
        "at build time; do not edit. -->",
        "",
        "A call that fails ends with a gRPC status whose `grpc-status-details-bin` trailer holds "
        "a `google.rpc.Status`. Its details carry one `google.rpc.ErrorInfo`: `domain` is "
        "`kizuna.v1`, `reason` is one of the names below (the `kizuna.v1.ErrorReason` value "
        "without its `ERROR_REASON_` prefix) and `metadata` holds the keys listed for it. "
        "Failures that belong to a resource or an event (a transfer, a command run) carry the "
        "same reason in a `kizuna.v1.Error` message instead.",
        "",
        "Programs should branch on the reason, not on the message, which is written for people. "
        "The Python client raises one exception class per reason, each a subclass of "
        "[`KizunaError`][kizuna_client.errors.KizunaError]; other languages read the "
        "`ErrorInfo` themselves. Which call can fail with which reason is written on each RPC "
        "in `proto/kizuna/v1/*_service.proto`. A client that cannot reach the daemon at all "
        "gets no `ErrorInfo`; the Python client raises "
        "[`DaemonUnavailableError`][kizuna_client.errors.DaemonUnavailableError] then.",
        "",
        "This page is generated from the comments on `ErrorReason` in "
        "`proto/kizuna/v1/errors.proto` when the site is built.",
        "",
        "## At a glance",
        "",
        "| reason | gRPC status | meaning |",
        "|---|---|---|",
    ]
    out += [f"| [`{r.name}`](#{r.name}) | `{r.code}` | {_in_cell(r.meaning)} |" for r in found]
    out += ["", "## Reasons", ""]
    for reason in found:
        out += [f"### `{reason.name}` {{ #{reason.name} }}", "", reason.meaning, ""]
        out.append(f"- gRPC status: `{reason.code}`")
        if reason.metadata:
            out.append(f"- Metadata: {reason.metadata}")
        out.append(f"- Enum value: `{_REASON_PREFIX}{reason.name} = {reason.number}`")
        if reason.exception:
            target = f"kizuna_client.errors.{reason.exception}"
            out.append(f"- Python: [`{reason.exception}`][{target}]")
        out.append("")
    return "\n".join(out)


# --- entry points -----------------------------------------------------------------------------

PAGES: Final[Mapping[str, Callable[[], str]]] = {
    CONFIG_PAGE: config_reference,
    ERRORS_PAGE: errors_reference,
}


def write_with_gen_files() -> None:
    """Adds the pages to the MkDocs build in progress."""
    from mkdocs_gen_files.editor import FilesEditor  # noqa: PLC0415 - only inside a build

    editor = FilesEditor.current()
    for page, render in PAGES.items():
        with editor.open(page, "w", encoding="utf-8") as file:
            file.write(render())
        editor.set_edit_path(page, "tools/gen_docs_reference.py")


def write_to(folder: Path) -> None:
    for page, render in PAGES.items():
        target = folder / page
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(), encoding="utf-8")


if __name__ == "<run_path>":  # mkdocs-gen-files runs the script with runpy.run_path
    write_with_gen_files()
elif __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tools/gen_docs_reference.py OUT_DIR")
    write_to(Path(sys.argv[1]))
