"""commands/allowlist.py: the owner's allow-list as parsed (and refused when malformed), and a
peer's arguments bound into argv: one value, one argv element (or part of one), never a shell;
paths confined to their root with symlinks followed."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from kizuna_server.commands.allowlist import (
    MAX_OUTPUT_CAP,
    MAX_VALUE_CHARS,
    AllowedCommand,
    AllowListError,
    CommandArgumentsInvalid,
    Parameter,
    parse_allowlist,
)
from kizuna_server.errors import KizunaError

BASE = Path("/srv/kizuna")

Entry = dict[str, object]


def entry(**changes: object) -> Entry:
    """One allow-list table: `/bin/prog {n}` with a string parameter `n`, changed by keyword."""
    base: Entry = {
        "id": "cmd",
        "argv": ["/bin/prog", "{n}"],
        "parameters": [{"name": "n", "type": "string"}],
    }
    base.update(changes)
    return base


def with_parameter(argv: Sequence[str] = ("/bin/prog", "{n}"), **fields: object) -> Entry:
    """An entry whose one parameter is `n` with `fields` (type string unless given)."""
    parameter: Entry = {"name": "n", "type": "string"}
    parameter.update(fields)
    return entry(argv=list(argv), parameters=[parameter])


def command(
    argv: Sequence[str],
    parameters: Sequence[Mapping[str, object]] = (),
    base_dir: Path = BASE,
    **extra: object,
) -> AllowedCommand:
    raw: Entry = {"id": "cmd", "argv": list(argv), "parameters": [dict(p) for p in parameters]}
    raw.update(extra)
    (parsed,) = parse_allowlist([raw], base_dir)
    return parsed


def config_error(raw: object, base_dir: Path = BASE) -> str:
    with pytest.raises(AllowListError) as caught:
        parse_allowlist(raw, base_dir)
    return str(caught.value)


def refused(
    allowed: AllowedCommand,
    argument: str,
    named: Mapping[str, object] | None = None,
    positional: Sequence[str] = (),
) -> str:
    """bind() refuses; its metadata names the command and `argument`. Returns the message."""
    with pytest.raises(CommandArgumentsInvalid) as caught:
        allowed.bind(named, positional)
    assert caught.value.reason == "COMMAND_ARGUMENTS_INVALID"
    assert dict(caught.value.metadata) == {"command": allowed.id, "argument": argument}
    assert caught.value.message.startswith(f"{allowed.id}: ")
    return caught.value.message


# --- a valid allow-list -------------------------------------------------------------------------


def full_allowlist() -> list[Entry]:
    return [
        {
            "id": "media.set-volume_2",
            "description": "Set the mixer",
            "argv": [
                "/usr/bin/mixer",
                "--volume={volume}%",
                "{name}",
                "{count}",
                "{verbose}",
                "{dry}",
                "--mode={mode}",
                "{file}",
                "{{literal}}",
                "x{{{name}}}y",
            ],
            "parameters": [
                {"name": "name", "type": "string", "pattern": "[a-z]+", "required": True,
                 "description": "Who"},
                {"name": "volume", "type": "integer", "min": 0, "max": 100, "default": 50},
                {"name": "count", "type": "integer"},
                {"name": "verbose", "type": "boolean", "flag": "-v"},
                {"name": "dry", "type": "boolean"},
                {"name": "mode", "type": "choice", "choices": ["fast", "slow"]},
                {"name": "file", "type": "path", "root": "files", "must_exist": False},
            ],
            "workdir": "run",
            "env": {"LANG": "C.UTF-8", "EMPTY": ""},
            "timeout_secs": 2.5,
            "output_cap_bytes": 1024,
            "risk": "high",
            "approval": "always",
        },
        {"id": "uptime", "argv": ["/usr/bin/uptime"]},
    ]  # fmt: skip


def test_parses_every_field_and_parameter_type() -> None:
    mixer, uptime = parse_allowlist(full_allowlist(), BASE)

    assert mixer.id == "media.set-volume_2"
    assert mixer.description == "Set the mixer"
    assert mixer.argv[0] == "/usr/bin/mixer"
    assert mixer.argv[1] == "--volume={volume}%"
    assert mixer.workdir == BASE / "run"
    assert dict(mixer.env) == {"LANG": "C.UTF-8", "EMPTY": ""}
    assert mixer.timeout_secs == 2.5
    assert mixer.output_cap_bytes == 1024
    assert (mixer.risk, mixer.approval) == ("high", "always")

    name, volume, count, verbose, dry, mode, file = mixer.parameters
    assert name == Parameter(
        name="name", type="string", description="Who", required=True, pattern="[a-z]+"
    )
    assert (volume.type, volume.min, volume.max, volume.default) == ("integer", 0, 100, 50)
    assert (count.min, count.max) == (-(2**63), 2**63 - 1)
    assert (verbose.type, verbose.flag, verbose.default) == ("boolean", "-v", None)
    assert (dry.type, dry.flag) == ("boolean", "")
    assert (mode.type, mode.choices) == ("choice", ("fast", "slow"))
    assert (file.type, file.root, file.must_exist) == ("path", BASE / "files", False)

    assert uptime == AllowedCommand(id="uptime", argv=("/usr/bin/uptime",))
    assert uptime.description == ""
    assert uptime.parameters == ()
    assert uptime.workdir is None
    assert dict(uptime.env) == {}
    assert isinstance(uptime.timeout_secs, float) and uptime.timeout_secs == 60.0
    assert uptime.output_cap_bytes == 4 << 20
    assert (uptime.risk, uptime.approval) == ("medium", "by-risk")
    assert uptime.bind() == (["/usr/bin/uptime"], {})


def test_empty_allowlist_is_no_commands() -> None:
    assert parse_allowlist([], BASE) == ()


def test_full_command_binds_every_type() -> None:
    (mixer, _) = parse_allowlist(full_allowlist(), BASE)
    named: dict[str, object] = {
        "name": "abc",
        "volume": 7,
        "count": -3,
        "verbose": True,
        "dry": False,
        "mode": "slow",
        "file": "a/b.txt",
    }
    argv, values = mixer.bind(named)
    real_file = os.path.join(os.path.realpath(BASE / "files"), "a", "b.txt")
    assert argv == [
        "/usr/bin/mixer",
        "--volume=7%",
        "abc",
        "-3",
        "-v",
        "false",
        "--mode=slow",
        real_file,
        "{literal}",
        "x{abc}y",
    ]
    assert values == {**named, "file": real_file}


def test_full_command_with_only_the_required_argument() -> None:
    (mixer, _) = parse_allowlist(full_allowlist(), BASE)
    argv, values = mixer.bind({"name": "abc"})
    assert argv == ["/usr/bin/mixer", "--volume=50%", "abc", "{literal}", "x{abc}y"]
    assert values == {"name": "abc", "volume": 50}


def test_home_is_expanded_in_workdir_and_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    allowed = command(
        ["/bin/cat", "{f}"],
        [{"name": "f", "type": "path", "root": "~/media", "must_exist": False}],
        workdir="~/work",
    )
    assert allowed.workdir == tmp_path / "work"
    assert allowed.parameters[0].root == tmp_path / "media"


def test_absolute_workdir_and_root_ignore_base_dir() -> None:
    allowed = command(
        ["/bin/cat", "{f}"],
        [{"name": "f", "type": "path", "root": "/data", "must_exist": False}],
        workdir="/var/tmp",
    )
    assert allowed.workdir == Path("/var/tmp")
    assert allowed.parameters[0].root == Path("/data")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("timeout_secs", 86400),
        ("timeout_secs", 0.001),
        ("output_cap_bytes", 0),
        ("output_cap_bytes", MAX_OUTPUT_CAP),
        ("id", "a" * 64),
        ("id", "0.x_-y"),
        ("approval", "never"),
        ("risk", "low"),
    ],
)
def test_limits_at_their_bounds_are_accepted(key: str, value: object) -> None:
    (parsed,) = parse_allowlist([entry(**{key: value})], BASE)
    assert getattr(parsed, key) == value


# --- bind: positions, names, required, defaults -------------------------------------------------

SMALL_ARGV = ("prog", "{a}", "--b={b}", "{c}")
SMALL_PARAMETERS: tuple[Mapping[str, object], ...] = (
    {"name": "a", "type": "string", "required": True},
    {"name": "b", "type": "integer", "min": 1, "max": 10},
    {"name": "c", "type": "boolean", "flag": "-c"},
)


@pytest.fixture
def small() -> AllowedCommand:
    return command(SMALL_ARGV, SMALL_PARAMETERS)


def test_bind_by_position(small: AllowedCommand) -> None:
    assert small.bind(positional=["x", "7", "yes"]) == (
        ["prog", "x", "--b=7", "-c"],
        {"a": "x", "b": 7, "c": True},
    )


def test_bind_by_name(small: AllowedCommand) -> None:
    assert small.bind({"c": False, "a": "x", "b": 7}) == (
        ["prog", "x", "--b=7"],
        {"a": "x", "b": 7, "c": False},
    )


def test_bind_fewer_positions_fills_in_order(small: AllowedCommand) -> None:
    assert small.bind(positional=["x"]) == (["prog", "x"], {"a": "x"})


def test_bind_not_both_position_and_name(small: AllowedCommand) -> None:
    assert "by position or by name, not both" in refused(small, "", {"b": 2}, ["x"])


def test_bind_too_many_positions(small: AllowedCommand) -> None:
    message = refused(small, "", positional=["x", "1", "true", "extra"])
    assert "takes at most 3 arguments, got 4" in message


def test_bind_unknown_name(small: AllowedCommand) -> None:
    assert "has no parameter 'zz'" in refused(small, "zz", {"a": "x", "zz": "y"})


def test_bind_required_missing(small: AllowedCommand) -> None:
    assert "argument 'a' is required" in refused(small, "a", {"b": 3})
    refused(small, "a")


def test_optional_absent_drops_its_element(small: AllowedCommand) -> None:
    assert small.bind({"a": "x", "c": True}) == (["prog", "x", "-c"], {"a": "x", "c": True})


def test_element_naming_an_absent_parameter_is_dropped_whole() -> None:
    allowed = command(
        ["prog", "{x}:{y}", "{x}"],
        [{"name": "x", "type": "string"}, {"name": "y", "type": "string"}],
    )
    assert allowed.bind({"x": "1"}) == (["prog", "1"], {"x": "1"})
    assert allowed.bind({"x": "1", "y": "2"})[0] == ["prog", "1:2", "1"]
    assert allowed.bind() == (["prog"], {})


def test_default_used_when_absent_and_overridden_when_given() -> None:
    allowed = command(
        ["prog", "-n", "{n}", "{s}"],
        [
            {"name": "n", "type": "integer", "default": 3},
            {"name": "s", "type": "string", "default": "hello world"},
        ],
    )
    assert allowed.bind() == (["prog", "-n", "3", "hello world"], {"n": 3, "s": "hello world"})
    assert allowed.bind({"n": 9})[0] == ["prog", "-n", "9", "hello world"]
    assert allowed.bind(positional=["4", "x"])[0] == ["prog", "-n", "4", "x"]


def test_default_given_as_text_is_converted() -> None:
    allowed = command(
        ["prog", "{n}", "{v}"],
        [
            {"name": "n", "type": "integer", "default": "12"},
            {"name": "v", "type": "boolean", "flag": "--v", "default": "yes"},
        ],
    )
    assert allowed.parameters[0].default == 12
    assert allowed.parameters[1].default is True
    assert allowed.bind() == (["prog", "12", "--v"], {"n": 12, "v": True})


# --- booleans -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "argv"),
    [(True, ["prog", "--verbose", "end"]), (False, ["prog", "end"])],
)
def test_boolean_flag_present_or_absent(given: bool, argv: list[str]) -> None:
    allowed = command(
        ["prog", "{v}", "end"], [{"name": "v", "type": "boolean", "flag": "--verbose"}]
    )
    assert allowed.bind({"v": given}) == (argv, {"v": given})


@pytest.mark.parametrize(("default", "argv"), [(True, ["prog", "-q"]), (False, ["prog"])])
def test_boolean_flag_default(default: bool, argv: list[str]) -> None:
    allowed = command(
        ["prog", "{q}"], [{"name": "q", "type": "boolean", "flag": "-q", "default": default}]
    )
    assert allowed.bind()[0] == argv


def test_boolean_with_flag_not_given_and_no_default_is_left_out() -> None:
    allowed = command(["prog", "{q}"], [{"name": "q", "type": "boolean", "flag": "-q"}])
    assert allowed.bind() == (["prog"], {})


@pytest.mark.parametrize(
    ("given", "text"),
    [
        (True, "true"),
        (False, "false"),
        ("true", "true"),
        ("TRUE", "true"),
        ("Yes", "true"),
        ("on", "true"),
        ("1", "true"),
        ("false", "false"),
        ("no", "false"),
        ("OFF", "false"),
        ("0", "false"),
    ],
)
def test_boolean_without_flag_is_true_or_false_text(given: object, text: str) -> None:
    allowed = command(["prog", "--x={x}", "{x}"], [{"name": "x", "type": "boolean"}])
    assert allowed.bind({"x": given}) == (["prog", f"--x={text}", text], {"x": text == "true"})


@pytest.mark.parametrize("given", ["maybe", "", " true", "2", 1, 0, None, 1.0])
def test_boolean_refuses_anything_else(given: object) -> None:
    allowed = command(["prog", "{x}"], [{"name": "x", "type": "boolean"}])
    assert "must be true or false" in refused(allowed, "x", {"x": given})


def test_boolean_text_by_position() -> None:
    allowed = command(["prog", "{x}"], [{"name": "x", "type": "boolean", "flag": "-x"}])
    assert allowed.bind(positional=["on"]) == (["prog", "-x"], {"x": True})
    assert "must be true or false" in refused(allowed, "x", positional=["nope"])


# --- integers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "number"),
    [("42", 42), ("+7", 7), ("-7", -7), ("007", 7), (42, 42), (-(2**63), -(2**63))],
)
def test_integer_accepted(given: str | int, number: int) -> None:
    allowed = command(["prog", "{n}"], [{"name": "n", "type": "integer"}])
    assert allowed.bind({"n": given}) == (["prog", str(number)], {"n": number})


def test_integer_text_accepted_by_position() -> None:
    allowed = command(["prog", "--n={n}"], [{"name": "n", "type": "integer"}])
    argv, values = allowed.bind(positional=["42"])
    assert argv == ["prog", "--n=42"]
    assert values == {"n": 42} and isinstance(values["n"], int)


@pytest.mark.parametrize(
    "given",
    ["4x2", "1e3", "42.0", " 42", "42 ", "42\n", "", "-", "0x10", "1_000", "٤٢", "1" * 20,
     True, False, 4.2, 42.0, None, [42]],
)  # fmt: skip
def test_integer_refuses_non_whole_numbers(given: object) -> None:
    allowed = command(["prog", "{n}"], [{"name": "n", "type": "integer"}])
    assert "must be a whole number" in refused(allowed, "n", {"n": given})


@pytest.mark.parametrize("given", ["4x2", "1e3", "true"])
def test_integer_refuses_non_whole_numbers_by_position(given: str) -> None:
    allowed = command(["prog", "{n}"], [{"name": "n", "type": "integer"}])
    assert "must be a whole number" in refused(allowed, "n", positional=[given])


@pytest.mark.parametrize(("given", "accepted"), [(1, True), (10, True), (0, False), (11, False),
                                                 ("11", False), (-(2**70), False)])  # fmt: skip
def test_integer_range(given: int | str, accepted: bool) -> None:
    allowed = command(["prog", "{n}"], [{"name": "n", "type": "integer", "min": 1, "max": 10}])
    if accepted:
        assert allowed.bind({"n": given})[1] == {"n": int(given)}
    else:
        assert "must be from 1 to 10" in refused(allowed, "n", {"n": given})


def test_integer_default_range_is_64_bit() -> None:
    allowed = command(["prog", "{n}"], [{"name": "n", "type": "integer"}])
    assert allowed.bind({"n": str(2**63 - 1)})[0] == ["prog", str(2**63 - 1)]
    assert "must be from" in refused(allowed, "n", {"n": str(2**63)})
    assert "must be from" in refused(allowed, "n", {"n": 2**63})


# --- strings: injection is inert ----------------------------------------------------------------

INERT_VALUES = [
    "; rm -rf ~",
    "$(id)",
    "`id`",
    "a b",
    "&& reboot",
    "| nc evil 1",
    "> /etc/passwd",
    "'\"",
    "$HOME",
    "*",
    "-rf",
    "--output=/etc/shadow",
    "{a}",
    "{0}",
    "{{",
    "%s%n",
    "",
    "ünïcödé ✓",
]


@pytest.mark.parametrize("value", INERT_VALUES)
def test_string_value_is_exactly_one_argv_element(value: str) -> None:
    allowed = command(["/bin/echo", "--", "{text}", "end"], [{"name": "text", "type": "string"}])
    assert allowed.bind({"text": value}) == (["/bin/echo", "--", value, "end"], {"text": value})
    assert allowed.bind(positional=[value])[0] == ["/bin/echo", "--", value, "end"]


@pytest.mark.parametrize("value", INERT_VALUES)
def test_string_value_is_only_part_of_its_element(value: str) -> None:
    allowed = command(
        ["/bin/echo", "--msg={text}!", "{{{text}}}"], [{"name": "text", "type": "string"}]
    )
    assert allowed.bind({"text": value})[0] == ["/bin/echo", f"--msg={value}!", f"{{{value}}}"]


@pytest.mark.parametrize(
    "value",
    ["a\nb", "a\rb", "a\tb", "\x1b[31m", "a\x01", "\x1f", "a\x7fb", "line\r\n"],
)
def test_string_without_pattern_refuses_control_characters(value: str) -> None:
    allowed = command(["prog", "{s}"], [{"name": "s", "type": "string"}])
    assert "contains control characters" in refused(allowed, "s", {"s": value})
    assert "contains control characters" in refused(allowed, "s", positional=[value])


def test_string_refuses_nul() -> None:
    allowed = command(["prog", "{s}"], [{"name": "s", "type": "string"}])
    assert "contains a NUL character" in refused(allowed, "s", {"s": "a\x00b"})
    patterned = command(["prog", "{s}"], [{"name": "s", "type": "string", "pattern": ".*"}])
    assert "contains a NUL character" in refused(patterned, "s", {"s": "a\x00b"})


def test_string_length_is_capped() -> None:
    allowed = command(["prog", "{s}"], [{"name": "s", "type": "string"}])
    assert allowed.bind({"s": "a" * MAX_VALUE_CHARS})[0] == ["prog", "a" * MAX_VALUE_CHARS]
    assert "longer than" in refused(allowed, "s", {"s": "a" * (MAX_VALUE_CHARS + 1)})


@pytest.mark.parametrize("value", [5, None, True, b"bytes", ["a"]])
def test_string_refuses_non_text(value: object) -> None:
    allowed = command(["prog", "{s}"], [{"name": "s", "type": "string"}])
    assert "must be text" in refused(allowed, "s", {"s": value})


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("abc", True),
        ("abc; id", False),
        ("abc\n", False),
        ("ABC", False),
        ("", False),
        ("x$(id)", False),
        ("abc id", False),
    ],
)
def test_string_pattern_must_match_the_whole_value(value: str, accepted: bool) -> None:
    allowed = command(["prog", "{s}"], [{"name": "s", "type": "string", "pattern": "[a-z]+"}])
    if accepted:
        assert allowed.bind({"s": value})[0] == ["prog", value]
    else:
        assert "does not match [a-z]+" in refused(allowed, "s", {"s": value})


def test_string_pattern_alternation_is_matched_whole() -> None:
    allowed = command(["prog", "{s}"], [{"name": "s", "type": "string", "pattern": "ab|cd"}])
    assert allowed.bind({"s": "cd"})[0] == ["prog", "cd"]
    refused(allowed, "s", {"s": "abcd"})
    refused(allowed, "s", {"s": "ab; id"})


def test_string_pattern_decides_control_characters() -> None:
    allowed = command(["prog", "{s}"], [{"name": "s", "type": "string", "pattern": "[a-z\n]+"}])
    assert allowed.bind({"s": "a\nb"})[0] == ["prog", "a\nb"]


# --- paths --------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp_path/root with inside.txt, sub/deep.txt and symlinks in and out; files outside."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "inside.txt").write_text("in")
    (root / "sub" / "deep.txt").write_text("deep")
    (tmp_path / "outside.txt").write_text("out")
    (tmp_path / "root-evil").mkdir()
    (tmp_path / "root-evil" / "f.txt").write_text("evil")
    (root / "escape").symlink_to(tmp_path / "outside.txt")
    (root / "escape-dir").symlink_to(tmp_path)
    (root / "dangling-out").symlink_to(tmp_path / "nowhere")
    (root / "alias").symlink_to(root / "sub" / "deep.txt")
    (root / "alias-rel").symlink_to("inside.txt")
    (tmp_path / "link-root").symlink_to(root)
    return tmp_path


def path_command(base: Path, root: str = "root", must_exist: bool = True) -> AllowedCommand:
    return command(
        ["/bin/cat", "--", "{f}"],
        [{"name": "f", "type": "path", "root": root, "must_exist": must_exist}],
        base_dir=base,
    )


def real(path: Path) -> str:
    return os.path.realpath(path)


@pytest.mark.parametrize(
    ("value", "target"),
    [
        ("inside.txt", "root/inside.txt"),
        ("./inside.txt", "root/inside.txt"),
        ("sub/deep.txt", "root/sub/deep.txt"),
        ("sub/../inside.txt", "root/inside.txt"),
        ("sub", "root/sub"),
        (".", "root"),
        ("alias", "root/sub/deep.txt"),
        ("alias-rel", "root/inside.txt"),
    ],
)
def test_path_inside_root_resolves_to_its_real_path(tree: Path, value: str, target: str) -> None:
    allowed = path_command(tree)
    argv, values = allowed.bind({"f": value})
    assert argv == ["/bin/cat", "--", real(tree / target)]
    assert values == {"f": real(tree / target)}
    assert os.path.isabs(argv[2])


def test_absolute_path_inside_root_is_accepted(tree: Path) -> None:
    allowed = path_command(tree)
    inside = str(tree / "root" / "inside.txt")
    assert allowed.bind({"f": inside})[0][2] == real(tree / "root" / "inside.txt")


def test_path_by_position(tree: Path) -> None:
    assert path_command(tree).bind(positional=["inside.txt"])[0][2] == real(
        tree / "root" / "inside.txt"
    )


def test_root_that_is_a_symlink_is_resolved(tree: Path) -> None:
    allowed = path_command(tree, root="link-root")
    assert allowed.bind({"f": "inside.txt"})[0][2] == real(tree / "root" / "inside.txt")
    refused(allowed, "f", {"f": "../outside.txt"})


@pytest.mark.parametrize(
    "value",
    [
        "../outside.txt",
        "sub/../../outside.txt",
        "../root-evil/f.txt",
        "..",
        "escape",
        "escape-dir/outside.txt",
    ],
)
def test_path_escaping_root_is_refused(tree: Path, value: str) -> None:
    message = refused(path_command(tree), "f", {"f": value})
    assert "must stay inside" in message


@pytest.mark.parametrize("must_exist", [True, False])
def test_absolute_path_outside_root_is_refused(tree: Path, must_exist: bool) -> None:
    allowed = path_command(tree, must_exist=must_exist)
    for outside in (str(tree / "outside.txt"), "/etc/passwd", "/"):
        assert "must stay inside" in refused(allowed, "f", {"f": outside})


def test_symlink_pointing_outside_is_refused_even_if_missing_is_allowed(tree: Path) -> None:
    allowed = path_command(tree, must_exist=False)
    assert "must stay inside" in refused(allowed, "f", {"f": "escape"})
    assert "must stay inside" in refused(allowed, "f", {"f": "dangling-out"})


def test_missing_path_refused_when_it_must_exist(tree: Path) -> None:
    allowed = path_command(tree)
    assert allowed.parameters[0].must_exist
    assert "names nothing inside" in refused(allowed, "f", {"f": "missing.txt"})
    assert "names nothing inside" in refused(allowed, "f", {"f": "sub/missing/x"})


def test_missing_path_accepted_when_it_need_not_exist(tree: Path) -> None:
    allowed = path_command(tree, must_exist=False)
    assert allowed.bind({"f": "missing.txt"})[0][2] == os.path.join(
        real(tree / "root"), "missing.txt"
    )
    assert allowed.bind({"f": "new/deeper.txt"})[0][2] == os.path.join(
        real(tree / "root"), "new", "deeper.txt"
    )
    assert "must stay inside" in refused(allowed, "f", {"f": "../missing.txt"})


@pytest.mark.parametrize("value", ["inside.txt\x00", "a\x00b", "\x00"])
def test_path_with_nul_is_refused(tree: Path, value: str) -> None:
    assert "NUL" in refused(path_command(tree, must_exist=False), "f", {"f": value})


@pytest.mark.parametrize("value", ["", "inside\n.txt", "a\tb", "\x1b"])
def test_path_empty_or_with_control_characters_is_refused(tree: Path, value: str) -> None:
    message = refused(path_command(tree, must_exist=False), "f", {"f": value})
    assert "must be a path without control characters" in message


@pytest.mark.parametrize("value", [3, None, True])
def test_path_must_be_text(tree: Path, value: object) -> None:
    assert "must be text" in refused(path_command(tree), "f", {"f": value})


# --- choices ------------------------------------------------------------------------------------


@pytest.fixture
def choosy() -> AllowedCommand:
    return command(
        ["prog", "--mode={mode}"], [{"name": "mode", "type": "choice", "choices": ["a b", "fast"]}]
    )


@pytest.mark.parametrize("value", ["fast", "a b"])
def test_choice_accepts_listed_values(choosy: AllowedCommand, value: str) -> None:
    assert choosy.bind({"mode": value}) == (["prog", f"--mode={value}"], {"mode": value})
    assert choosy.bind(positional=[value])[0] == ["prog", f"--mode={value}"]


@pytest.mark.parametrize("value", ["FAST", "fast ", "fas", "", "a", "fast; id", 1, None])
def test_choice_refuses_anything_else(choosy: AllowedCommand, value: object) -> None:
    message = refused(choosy, "mode", {"mode": value})
    if isinstance(value, str):
        assert "must be one of a b, fast" in message


# --- errors carry metadata ----------------------------------------------------------------------


def test_arguments_invalid_is_a_kizuna_error_with_metadata(small: AllowedCommand) -> None:
    with pytest.raises(KizunaError) as caught:
        small.bind({"a": "x", "b": 99})
    assert isinstance(caught.value, CommandArgumentsInvalid)
    assert caught.value.metadata["command"] == "cmd"
    assert caught.value.metadata["argument"] == "b"
    assert caught.value.message == "cmd: argument 'b' must be from 1 to 10, not 99"


def test_command_level_refusals_have_an_empty_argument(small: AllowedCommand) -> None:
    with pytest.raises(CommandArgumentsInvalid) as caught:
        small.bind(positional=["1", "2", "3", "4"])
    assert caught.value.metadata == {"command": "cmd", "argument": ""}


# --- configuration errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        pytest.param({"id": "x", "argv": ["p"]}, "expected a list of tables", id="table"),
        pytest.param("x", "expected a list of tables", id="text"),
        pytest.param(None, "expected a list of tables", id="none"),
        pytest.param(("x",), "expected a list of tables", id="tuple"),
        pytest.param(["x"], "entry 0: expected a table with id and argv", id="entry-text"),
        pytest.param([entry(), 5], "entry 1: expected a table", id="entry-number"),
        pytest.param([entry(), entry()], "command 'cmd': the ID is used twice", id="dup-id"),
        pytest.param(
            [entry(id="a"), entry(id="b"), entry(id="a")], "the ID is used twice", id="dup-id-3"
        ),
    ],
)
def test_allowlist_shape_errors(raw: object, fragment: str) -> None:
    assert fragment in config_error(raw)


CONFIG_ERRORS: list[tuple[str, object, str]] = [
    # command keys
    ("unknown-key", entry(shell=True), "command 'cmd': unknown key 'shell'"),
    ("uppercase-id", entry(id="Cmd"), "'id' must be 1-64 of a-z"),
    ("space-id", entry(id="my cmd"), "'id' must be 1-64"),
    ("empty-id", entry(id=""), "'id' must be 1-64"),
    ("long-id", entry(id="a" * 65), "'id' must be 1-64"),
    ("dash-id", entry(id="-x"), "'id' must be 1-64"),
    ("number-id", entry(id=5), "entry 0: 'id' must be 1-64"),
    ("missing-id", {"argv": ["p"]}, "'id' must be"),
    ("empty-argv", entry(argv=[], parameters=[]), "'argv' must be a non-empty list of strings"),
    ("missing-argv", {"id": "cmd"}, "'argv' must be a non-empty list"),
    ("text-argv", entry(argv="/bin/prog {n}"), "'argv' must be a non-empty list"),
    ("number-in-argv", entry(argv=["p", 1], parameters=[]), "'argv' must be a non-empty list"),
    ("nul-in-argv", entry(argv=["p", "a\x00"], parameters=[]), "'argv' must be a non-empty"),
    ("empty-program", entry(argv=["", "{n}"]), "the program (argv[0]) must be fixed"),
    ("placeholder-program", entry(argv=["{n}"]), "the program (argv[0]) must be fixed"),
    ("partial-program", entry(argv=["/bin/{n}", "{n}"]), "the program (argv[0]) must be fixed"),
    ("unknown-placeholder", entry(argv=["p", "{n}", "--x={nope}"]), "argv uses {nope}, not a"),
    ("unused-parameter", entry(argv=["p"]), "parameter 'n' is not used in argv"),
    ("empty-placeholder", entry(argv=["p", "{n}", "{}"]), "is not a template"),
    ("index-placeholder", entry(argv=["p", "{n}", "{0}"]), "is not a template"),
    ("attribute-placeholder", entry(argv=["p", "{n.real}"]), "is not a template"),
    ("item-placeholder", entry(argv=["p", "{n[0]}"]), "is not a template"),
    ("conversion", entry(argv=["p", "{n!r}"]), "is not a template"),
    ("format-spec", entry(argv=["p", "{n:>5}"]), "is not a template"),
    ("nested-spec", entry(argv=["p", "{n:{n}}"]), "is not a template"),
    ("open-brace", entry(argv=["p", "{n}", "{"]), "is not a template"),
    ("close-brace", entry(argv=["p", "{n}", "x}"]), "is not a template"),
    ("unclosed", entry(argv=["p", "{n"]), "is not a template"),
    ("spaced-name", entry(argv=["p", "{ n}"]), "{...} holds a parameter name"),
    ("upper-name", entry(argv=["p", "{n}", "{N}"]), "{...} holds a parameter name"),
    ("parameters-table", entry(parameters={"name": "n"}), "'parameters' must be a list"),
    ("workdir-empty", entry(workdir=""), "'workdir' must be a folder"),
    ("workdir-number", entry(workdir=5), "'workdir' must be a folder"),
    ("description-number", entry(description=1), "'description' must be text"),
    ("risk", entry(risk="critical"), "'risk' must be one of low, medium, high"),
    ("risk-case", entry(risk="HIGH"), "'risk' must be one of"),
    ("approval", entry(approval="sometimes"), "'approval' must be one of by-risk, always, never"),
    ("approval-bool", entry(approval=True), "'approval' must be one of"),
    ("timeout-zero", entry(timeout_secs=0), "'timeout_secs' must be more than 0 and at most"),
    ("timeout-negative", entry(timeout_secs=-1), "'timeout_secs' must be more than 0"),
    ("timeout-too-long", entry(timeout_secs=86401), "at most 86400"),
    ("timeout-inf", entry(timeout_secs=float("inf")), "at most 86400"),
    ("timeout-nan", entry(timeout_secs=float("nan")), "'timeout_secs' must be more than 0"),
    ("timeout-bool", entry(timeout_secs=True), "'timeout_secs' must be a number of seconds"),
    ("timeout-text", entry(timeout_secs="60"), "'timeout_secs' must be a number of seconds"),
    ("cap-negative", entry(output_cap_bytes=-1), "'output_cap_bytes' must be from 0 to"),
    ("cap-huge", entry(output_cap_bytes=MAX_OUTPUT_CAP + 1), "'output_cap_bytes' must be from"),
    ("cap-bool", entry(output_cap_bytes=True), "'output_cap_bytes' must be from"),
    ("cap-float", entry(output_cap_bytes=1.5), "'output_cap_bytes' must be from"),
    ("env-number", entry(env={"A": 1}), "'env' must be a table of text values"),
    ("env-bool", entry(env={"A": True}), "'env' must be a table of text values"),
    ("env-list", entry(env=["A=1"]), "'env' must be a table"),
    ("env-equals-key", entry(env={"A=B": "1"}), "'env' must be a table"),
    ("env-empty-key", entry(env={"": "1"}), "'env' must be a table"),
    ("env-nul", entry(env={"A": "a\x00"}), "'env' must be a table"),
    # parameters
    ("parameter-text", entry(parameters=["n"]), "parameter 0: expected a table with name and type"),
    ("parameter-key", with_parameter(regex="x"), "parameter 0: unknown key 'regex'"),
    ("parameter-name", with_parameter(("p", "{N}"), name="N"), "'name' must be 1-64 of a-z"),
    ("parameter-name-digit", with_parameter(("p",), name="1a"), "'name' must be 1-64"),
    ("parameter-name-missing", entry(parameters=[{"type": "string"}]), "'name' must be"),
    ("parameter-type", with_parameter(type="float"), "'type' must be one of string, integer"),
    ("parameter-no-type", entry(parameters=[{"name": "n"}]), "'type' must be one of"),
    (
        "parameter-dup",
        entry(parameters=[{"name": "n", "type": "string"}, {"name": "n", "type": "integer"}]),
        "a parameter name is used twice",
    ),
    ("required-text", with_parameter(required="yes"), "'required' and 'must_exist' are true"),
    ("pattern-on-integer", with_parameter(type="integer", pattern="[0-9]+"), "'pattern' does"),
    ("choices-on-string", with_parameter(choices=["a"]), "'choices' does not apply to a string"),
    ("min-on-string", with_parameter(min=1), "'min' does not apply to a string parameter"),
    ("max-on-choice", with_parameter(type="choice", choices=["a"], max=1), "'max' does not"),
    ("root-on-string", with_parameter(root="/tmp"), "'root' does not apply"),
    ("must-exist-on-string", with_parameter(must_exist=False), "'must_exist' does not apply"),
    ("flag-on-string", with_parameter(flag="-n"), "'flag' does not apply to a string"),
    ("pattern-on-path", with_parameter(type="path", root="/", pattern="x"), "'pattern' does"),
    ("choice-without-choices", with_parameter(type="choice"), "a choice parameter needs"),
    ("choice-empty", with_parameter(type="choice", choices=[]), "needs 'choices'"),
    ("choices-not-strings", with_parameter(type="choice", choices=[1]), "'choices' must be a"),
    ("choices-text", with_parameter(type="choice", choices="ab"), "'choices' must be a list"),
    ("path-without-root", with_parameter(type="path"), "a path parameter needs 'root'"),
    ("path-empty-root", with_parameter(type="path", root=""), "needs 'root'"),
    ("path-number-root", with_parameter(type="path", root=1), "needs 'root'"),
    ("bad-pattern", with_parameter(pattern="[a-"), "'pattern' is not a regular expression"),
    ("pattern-number", with_parameter(pattern=5), "'pattern' must be text"),
    ("min-over-max", with_parameter(type="integer", min=5, max=4), "min <= max"),
    ("min-float", with_parameter(type="integer", min=0.5), "'min' and 'max' must be whole"),
    ("max-text", with_parameter(type="integer", max="9"), "must be whole numbers"),
    ("min-bool", with_parameter(type="integer", min=False), "must be 64-bit whole numbers"),
    ("max-65-bit", with_parameter(type="integer", max=2**63), "64-bit"),
    ("min-65-bit", with_parameter(type="integer", min=-(2**63) - 1), "64-bit"),
    ("required-default", with_parameter(required=True, default="x"), "takes no 'default'"),
    (
        "default-out-of-range",
        with_parameter(type="integer", min=0, max=10, default=11),
        "'default' must be from 0 to 10, not 11",
    ),
    ("default-not-integer", with_parameter(type="integer", default="x"), "'default' must be a"),
    ("default-not-choice", with_parameter(type="choice", choices=["a"], default="b"), "be one"),
    ("default-no-match", with_parameter(pattern="[a-z]+", default="A"), "'default' does not"),
    ("default-control", with_parameter(default="a\nb"), "'default' contains control"),
    ("default-bool-text", with_parameter(type="boolean", default="maybe"), "true or false"),
    ("default-string-number", with_parameter(default=5), "'default' must be text"),
    (
        "flag-in-partial-element",
        with_parameter(("p", "--v={n}"), type="boolean", flag="-v"),
        "boolean 'n' has a flag, so its argv element must be exactly {n}",
    ),
    (
        "flag-in-prefixed-element",
        with_parameter(("p", "x{n}"), type="boolean", flag="-v"),
        "must be exactly {n}",
    ),
    ("flag-number", with_parameter(type="boolean", flag=1), "'flag' must be text"),
]


@pytest.mark.parametrize(
    ("item", "fragment"),
    [pytest.param(item, fragment, id=case) for case, item, fragment in CONFIG_ERRORS],
)
def test_config_errors(item: object, fragment: str) -> None:
    assert fragment in config_error([item])


def test_config_errors_say_where() -> None:
    first_ok = entry(id="ok")
    message = config_error([first_ok, with_parameter(type="integer", min=3, max=1) | {"id": "bad"}])
    assert message.startswith("command 'bad', parameter 'n': ")
    message = config_error([first_ok, entry(id="bad", parameters=[{"type": "string"}])])
    assert message.startswith("command 'bad', parameter 0: ")


def test_a_path_parameter_takes_no_default(tmp_path: Path) -> None:
    """A default path would be resolved at load, not when a run asks: refused."""
    (tmp_path / "root").mkdir()
    item = with_parameter(type="path", root="root", must_exist=False, default="x")
    assert "a path parameter takes no 'default'" in config_error([item], tmp_path)


# --- found by these tests, fixed ----------------------------------------------------------------


def test_program_braces_are_unescaped_or_refused() -> None:
    """argv[0] is checked as a template (the error says `{{ and }} for braces`), so `{{` there
    must either be refused or mean a literal brace: it must not reach the program name as-is."""
    try:
        allowed = command(["/opt/{{odd}}/prog"])
    except AllowListError:
        return
    assert allowed.bind()[0] == ["/opt/{odd}/prog"]


def test_boolean_flag_with_nul_is_refused() -> None:
    """A flag becomes an argv element, and argv elements with NUL are refused at parse time."""
    item = with_parameter(type="boolean", flag="-\x00v")
    config_error([item])


@pytest.mark.parametrize("value", ["a\x85b", "\x9b31m", "\x80", "\x9f"])
def test_string_without_pattern_refuses_c1_control_characters(value: str) -> None:
    """Parameter.pattern: "(else: no control characters)"; U+0080-U+009F are control
    characters too (NEL is a line break, CSI starts a terminal escape)."""
    allowed = command(["prog", "{s}"], [{"name": "s", "type": "string"}])
    assert "contains control characters" in refused(allowed, "s", {"s": value})


@pytest.mark.parametrize("value", ["a\x7fb", "a\x85b"])
def test_path_refuses_del_and_c1_control_characters(tmp_path: Path, value: str) -> None:
    """Paths say "without control characters" but only refuse those below a space."""
    (tmp_path / "root").mkdir()
    allowed = path_command(tmp_path, must_exist=False)
    assert "control characters" in refused(allowed, "f", {"f": value})
