"""What peers may run here: the owner's allow-list, and turning a peer's arguments into argv.

A peer names an allowed command by ID and gives typed values for its declared parameters; it
never sends a command line. Each value is checked against its parameter and placed into the
owner's fixed argv template as one argv element (or part of one): no shell ever sees it, so
`; rm -rf ~`, `$(id)` or a backtick are only characters of one argument, and a parameter's
rules (pattern, range, choices, a folder a path must stay in) decide whether they are allowed.

Template syntax: `{name}` in an argv element is the parameter's value; `{{` and `}}` are literal
braces. An element naming an optional parameter that was not given (and has no default) is left
out; a boolean parameter with a `flag` puts the flag where its element is exactly `{name}` when
true and nothing when false. The program (argv[0]) is fixed.

This module does no I/O except resolving path values (symlinks included) at bind time.
"""

from __future__ import annotations

import dataclasses
import os
import re
import string
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from kizuna_server.errors import KizunaError

TYPES: Final = ("string", "integer", "boolean", "choice", "path")
RISKS: Final = ("low", "medium", "high")
#: How a command's runs are approved: by its risk class against `commands.approve_from`, always
#: asked, or never asked.
APPROVALS: Final = ("by-risk", "always", "never")

_ID: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,19}")
_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})
MAX_VALUE_CHARS: Final = 4096
_INT64: Final = (-(2**63), 2**63 - 1)
MAX_OUTPUT_CAP: Final = 1 << 30

Value = str | int | bool


class CommandNotAllowed(KizunaError):
    """The command is not on this device's allow-list (metadata: `command`)."""

    reason = "COMMAND_NOT_ALLOWED"


class CommandArgumentsInvalid(KizunaError):
    """Arguments do not fit the command's parameters (metadata: `command`, `argument`)."""

    reason = "COMMAND_ARGUMENTS_INVALID"


class AllowListError(ValueError):
    """The allow-list in the configuration is malformed; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: str
    description: str = ""
    required: bool = False
    default: Value | None = None
    #: string: a regular expression the whole value must match (else: no control characters).
    pattern: str = ""
    #: integer: the allowed range.
    min: int = _INT64[0]
    max: int = _INT64[1]
    #: choice: the allowed values.
    choices: tuple[str, ...] = ()
    #: path: the folder a value must resolve into (symlinks resolved), and whether it must exist.
    root: Path | None = None
    must_exist: bool = True
    #: boolean: the argv element put in for true (nothing for false); "" puts "true"/"false".
    flag: str = ""

    def check(self, value: object, command: str) -> Value:
        """`value` as this parameter takes it (text given by position is converted)."""

        def refuse(why: str) -> CommandArgumentsInvalid:
            return CommandArgumentsInvalid(
                f"{command}: argument {self.name!r} {why}", command=command, argument=self.name
            )

        if self.type == "integer":
            return self._integer(value, refuse)
        if self.type == "boolean":
            if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
                value = value.lower() in _TRUE
            if not isinstance(value, bool):
                raise refuse("must be true or false")
            return value
        return self._text(value, refuse)

    def _integer(self, value: object, refuse: Callable[[str], CommandArgumentsInvalid]) -> int:
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise refuse("must be a whole number")
        if not self.min <= value <= self.max:
            raise refuse(f"must be from {self.min} to {self.max}, not {value}")
        return value

    def _text(self, value: object, refuse: Callable[[str], CommandArgumentsInvalid]) -> str:
        if not isinstance(value, str):
            raise refuse("must be text")
        if len(value) > MAX_VALUE_CHARS:
            raise refuse(f"is longer than {MAX_VALUE_CHARS} characters")
        if "\x00" in value:
            raise refuse("contains a NUL character")
        if self.type == "choice":
            if value not in self.choices:
                raise refuse(f"must be one of {', '.join(self.choices)}")
            return value
        if self.type == "path":
            return self._confined(value, refuse)
        if self.pattern:
            if re.fullmatch(self.pattern, value) is None:
                raise refuse(f"does not match {self.pattern}")
        elif _has_control(value):
            raise refuse("contains control characters (line breaks included)")
        return value

    def _confined(self, value: str, refuse: Callable[[str], CommandArgumentsInvalid]) -> str:
        assert self.root is not None
        if not value or _has_control(value):
            raise refuse("must be a path without control characters")
        root = os.path.realpath(self.root)
        real = os.path.realpath(os.path.join(root, value))  # an absolute value replaces root
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            raise refuse(f"must stay inside {self.root} (symlinks followed)")
        if self.must_exist and not os.path.exists(real):
            raise refuse(f"names nothing inside {self.root}")
        return real


@dataclass(frozen=True, slots=True)
class AllowedCommand:
    id: str
    argv: tuple[str, ...]
    description: str = ""
    parameters: tuple[Parameter, ...] = ()
    #: Where it runs; None: the daemon user's home.
    workdir: Path | None = None
    #: Added to the small fixed environment runs get (docs/commands.md).
    env: Mapping[str, str] = field(default_factory=dict)
    timeout_secs: float = 60.0
    #: Output kept and passed on per run (stdout and stderr together); the rest is dropped.
    output_cap_bytes: int = 4 << 20
    risk: str = "medium"
    approval: str = "by-risk"

    def bind(
        self, named: Mapping[str, object] | None = None, positional: Sequence[str] = ()
    ) -> tuple[list[str], dict[str, Value]]:
        """argv for one run, and the arguments as checked. `positional` values fill the
        parameters in their declared order; `named` ones by name; not both."""

        def refuse(why: str, argument: str = "") -> CommandArgumentsInvalid:
            return CommandArgumentsInvalid(f"{self.id}: {why}", command=self.id, argument=argument)

        named = dict(named or {})
        if named and positional:
            raise refuse("give arguments by position or by name, not both")
        if len(positional) > len(self.parameters):
            raise refuse(f"takes at most {len(self.parameters)} arguments, got {len(positional)}")
        names = [p.name for p in self.parameters][: len(positional)]
        given: dict[str, object] = dict(zip(names, positional, strict=True))
        by_name = {p.name: p for p in self.parameters}
        for name, value in named.items():
            if name not in by_name:
                raise refuse(f"has no parameter {name!r}", name)
            given[name] = value
        values: dict[str, Value] = {}
        for parameter in self.parameters:
            if parameter.name in given:
                values[parameter.name] = parameter.check(given[parameter.name], self.id)
            elif parameter.default is not None:
                values[parameter.name] = parameter.default
            elif parameter.required:
                raise refuse(f"argument {parameter.name!r} is required", parameter.name)
        argv = [self.argv[0].format_map({})]  # {{ and }} become braces here too
        for element in self.argv[1:]:
            if (rendered := self._render(element, by_name, values)) is not None:
                argv.append(rendered)
        return argv, values

    @staticmethod
    def _render(
        element: str, parameters: Mapping[str, Parameter], values: Mapping[str, Value]
    ) -> str | None:
        names = _placeholders(element)
        if any(name not in values for name in names):
            return None  # an optional parameter that was not given
        if len(names) == 1 and element == "{" + names[0] + "}":
            parameter, value = parameters[names[0]], values[names[0]]
            if parameter.type == "boolean" and parameter.flag:
                return parameter.flag if value else None
        return element.format_map({name: _text(values[name]) for name in names})


def _has_control(text: str) -> bool:
    """C0 and C1 controls, DEL, and the Unicode line and paragraph separators."""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _placeholders(element: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(element) if name is not None]


# --- the configuration's form -------------------------------------------------------------------

_COMMAND_KEYS: Final = frozenset(
    {"id", "description", "argv", "parameters", "workdir", "env", "timeout_secs",
     "output_cap_bytes", "risk", "approval"}
)  # fmt: skip
_PARAMETER_KEYS: Final = frozenset(
    {"name", "type", "description", "required", "default", "pattern", "min", "max", "choices",
     "root", "must_exist", "flag"}
)  # fmt: skip


def parse_allowlist(raw: object, base_dir: Path) -> tuple[AllowedCommand, ...]:
    """The `commands.allow` list of tables (TOML `[[commands.allow]]`) as commands; relative
    folders resolve against `base_dir` (the config file's folder). Raises AllowListError."""
    if not isinstance(raw, list):
        raise AllowListError("expected a list of tables ([[commands.allow]])")
    commands: list[AllowedCommand] = []
    for index, item in enumerate(raw):
        where = f"entry {index}"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            where = f"command {item['id']!r}"
        command = _command(item, where, base_dir)
        if any(c.id == command.id for c in commands):
            raise AllowListError(f"{where}: the ID is used twice")
        commands.append(command)
    return tuple(commands)


def _table(item: object, keys: frozenset[str], where: str, needs: str) -> dict[str, object]:
    if not isinstance(item, dict):
        raise AllowListError(f"{where}: expected a table with {needs}")
    if unknown := set(item) - keys:
        raise AllowListError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    return item


def _command(raw: object, where: str, base_dir: Path) -> AllowedCommand:
    item = _table(raw, _COMMAND_KEYS, where, "id and argv")
    command_id = item.get("id")
    if not isinstance(command_id, str) or not _ID.fullmatch(command_id):
        raise AllowListError(
            f"{where}: 'id' must be 1-64 of a-z, 0-9, '.', '_', '-' (starting with a letter "
            "or digit)"
        )
    argv = item.get("argv")
    if (
        not isinstance(argv, list)
        or not argv
        or not all(isinstance(a, str) and "\x00" not in a for a in argv)
    ):
        raise AllowListError(f"{where}: 'argv' must be a non-empty list of strings")
    if not argv[0] or _safe_placeholders(argv[0], where):
        raise AllowListError(f"{where}: the program (argv[0]) must be fixed, without {{...}}")
    parameters = tuple(
        _parameter(p, f"{where}, parameter {i}", base_dir)
        for i, p in enumerate(_list(item, "parameters", where))
    )
    names = [p.name for p in parameters]
    if len(set(names)) != len(names):
        raise AllowListError(f"{where}: a parameter name is used twice")
    used = {name for element in argv[1:] for name in _safe_placeholders(element, where)}
    if unknown_names := used - set(names):
        raise AllowListError(f"{where}: argv uses {{{sorted(unknown_names)[0]}}}, not a parameter")
    if unused := set(names) - used:
        raise AllowListError(f"{where}: parameter {sorted(unused)[0]!r} is not used in argv")
    for parameter in parameters:
        if parameter.type == "boolean" and parameter.flag and f"{{{parameter.name}}}" not in argv:
            raise AllowListError(
                f"{where}: boolean {parameter.name!r} has a flag, so its argv element must be "
                f"exactly {{{parameter.name}}}"
            )
    workdir = item.get("workdir")
    if workdir is not None and (not isinstance(workdir, str) or not workdir):
        raise AllowListError(f"{where}: 'workdir' must be a folder")
    timeout, cap = _limits(item, where)
    return AllowedCommand(
        id=command_id,
        argv=tuple(argv),
        description=_str(item, "description", where),
        parameters=parameters,
        workdir=_folder(workdir, base_dir) if workdir else None,
        env=_env(item, where),
        timeout_secs=timeout,
        output_cap_bytes=cap,
        risk=_one_of(item, "risk", RISKS, "medium", where),
        approval=_one_of(item, "approval", APPROVALS, "by-risk", where),
    )


def _env(item: Mapping[str, object], where: str) -> dict[str, str]:
    env = item.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and "=" not in k and "\x00" not in k + v
        for k, v in env.items()
    ):
        raise AllowListError(f"{where}: 'env' must be a table of text values")
    return dict(env)


def _limits(item: Mapping[str, object], where: str) -> tuple[float, int]:
    timeout = item.get("timeout_secs", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise AllowListError(f"{where}: 'timeout_secs' must be a number of seconds")
    if not 0 < timeout <= 86400:
        raise AllowListError(f"{where}: 'timeout_secs' must be more than 0 and at most 86400")
    cap = item.get("output_cap_bytes", 4 << 20)
    if isinstance(cap, bool) or not isinstance(cap, int) or not 0 <= cap <= MAX_OUTPUT_CAP:
        raise AllowListError(f"{where}: 'output_cap_bytes' must be from 0 to {MAX_OUTPUT_CAP}")
    return float(timeout), cap


def _parameter(raw: object, where: str, base_dir: Path) -> Parameter:
    item = _table(raw, _PARAMETER_KEYS, where, "name and type")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AllowListError(f"{where}: 'name' must be 1-64 of a-z, 0-9 and '_'")
    where = f"{where.rsplit(',', 1)[0]}, parameter {name!r}"
    kind = _one_of(item, "type", TYPES, None, where)
    required = item.get("required", False)
    must_exist = item.get("must_exist", True)
    if not isinstance(required, bool) or not isinstance(must_exist, bool):
        raise AllowListError(f"{where}: 'required' and 'must_exist' are true or false")
    extras = {
        "pattern": kind == "string",
        "min": kind == "integer",
        "max": kind == "integer",
        "choices": kind == "choice",
        "root": kind == "path",
        "must_exist": kind == "path",
        "flag": kind == "boolean",
    }
    if misplaced := [key for key, allowed in extras.items() if key in item and not allowed]:
        article = "an" if kind[0] in "aeiou" else "a"
        raise AllowListError(
            f"{where}: {misplaced[0]!r} does not apply to {article} {kind} parameter"
        )
    low, high = _range(item, where)
    choices = item.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise AllowListError(f"{where}: 'choices' must be a list of strings")
    if kind == "choice" and not choices:
        raise AllowListError(f"{where}: a choice parameter needs 'choices'")
    root = item.get("root")
    if kind == "path" and (not isinstance(root, str) or not root):
        raise AllowListError(f"{where}: a path parameter needs 'root', the folder it stays in")
    parameter = Parameter(
        name=name,
        type=kind,
        description=_str(item, "description", where),
        required=required,
        pattern=_pattern(item, where),
        min=low,
        max=high,
        choices=tuple(choices),
        root=_folder(root, base_dir) if isinstance(root, str) and root else None,
        must_exist=must_exist,
        flag=_str(item, "flag", where),
    )
    if parameter.flag and _has_control(parameter.flag):
        raise AllowListError(f"{where}: 'flag' must be text without control characters")
    if "default" in item and kind == "path":
        raise AllowListError(
            f"{where}: a path parameter takes no 'default' (it is resolved when a run asks)"
        )
    if "default" in item:
        if required:
            raise AllowListError(f"{where}: a required parameter takes no 'default'")
        try:
            default = parameter.check(item["default"], "default")
        except CommandArgumentsInvalid as exc:
            raise AllowListError(f"{where}: 'default' {exc.message.split(' ', 3)[-1]}") from None
        parameter = dataclasses.replace(parameter, default=default)
    return parameter


def _pattern(item: Mapping[str, object], where: str) -> str:
    pattern = _str(item, "pattern", where)
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise AllowListError(f"{where}: 'pattern' is not a regular expression: {exc}") from None
    return pattern


def _range(item: Mapping[str, object], where: str) -> tuple[int, int]:
    low, high = item.get("min", _INT64[0]), item.get("max", _INT64[1])
    if not isinstance(low, int) or not isinstance(high, int):
        raise AllowListError(f"{where}: 'min' and 'max' must be whole numbers")
    if isinstance(low, bool) or isinstance(high, bool) or not _INT64[0] <= low <= high <= _INT64[1]:
        raise AllowListError(f"{where}: 'min' and 'max' must be 64-bit whole numbers, min <= max")
    return low, high


def _safe_placeholders(element: str, where: str) -> list[str]:
    try:
        parts = list(string.Formatter().parse(element))
        names = [name for _, name, _, _ in parts if name is not None]
        plain = all(not spec and conversion is None for _, _, spec, conversion in parts)
        element.format_map({name: "" for name in names})
    except (ValueError, KeyError, IndexError, AttributeError):
        plain = False
    if not plain:
        raise AllowListError(
            f"{where}: argv element {element!r} is not a template ({{name}}; {{{{ and }}}} for "
            "braces)"
        ) from None
    if any(not _NAME.fullmatch(name) for name in names):
        raise AllowListError(f"{where}: argv element {element!r}: {{...}} holds a parameter name")
    return names


def _list(item: Mapping[str, object], key: str, where: str) -> list[object]:
    value = item.get(key, [])
    if not isinstance(value, list):
        raise AllowListError(f"{where}: {key!r} must be a list")
    return value


def _str(item: Mapping[str, object], key: str, where: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise AllowListError(f"{where}: {key!r} must be text")
    return value


def _one_of(
    item: Mapping[str, object], key: str, allowed: Sequence[str], default: str | None, where: str
) -> str:
    value = item.get(key, default)
    if value not in allowed:
        raise AllowListError(f"{where}: {key!r} must be one of {', '.join(allowed)}")
    assert isinstance(value, str)
    return value


def _folder(text: str, base_dir: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base_dir / path
