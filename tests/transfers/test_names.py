"""Offered file names, numbered free names and inbox checks (kizuna_server/transfers/names.py).

THREATS rows 1 (hostile file names), 2 (prefix trap), 6 (dangerous inbox) and 7 (no silent
overwrite).
"""

import random
import unicodedata
from pathlib import Path

import pytest

from kizuna_server.errors import ConfigError
from kizuna_server.transfers.names import (
    MAX_COMPONENT_BYTES,
    MAX_DEPTH,
    MAX_PATH_BYTES,
    UnsafeFileName,
    check_inbox,
    split_transfer_path,
    unique_name,
)

HOSTILE_NAMES = [
    # THREATS row 1
    pytest.param("../x", id="parent"),
    pytest.param("/abs", id="absolute"),
    pytest.param("a/../../b", id="parent-inside"),
    pytest.param("..\\x", id="backslash-parent"),
    pytest.param("C:\\x", id="drive-backslash"),
    pytest.param("a\0b", id="nul"),
    pytest.param("", id="empty"),
    pytest.param("a.", id="trailing-dot"),
    pytest.param("x" * 300, id="300-byte-name"),
    # THREATS row 2: the prefix trap
    pytest.param("../inbox2/f", id="prefix-trap"),
    # traversal and empty components
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("./a", id="dot-component"),
    pytest.param("a/.", id="trailing-dot-component"),
    pytest.param("a/..", id="trailing-dotdot"),
    pytest.param("a//b", id="double-slash"),
    pytest.param("a/", id="trailing-slash"),
    pytest.param("//server/share", id="unc-slashes"),
    pytest.param("/", id="root"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("\\\\server\\share", id="unc"),
    # drives and NTFS streams
    pytest.param("C:x", id="drive-relative"),
    pytest.param("a:b", id="colon"),
    pytest.param("file.txt::$DATA", id="ntfs-stream"),
    # control characters: C0, DEL, C1
    pytest.param("a\nb", id="newline"),
    pytest.param("a\rb", id="carriage-return"),
    pytest.param("a\tb", id="tab"),
    pytest.param("a\x1bb", id="escape"),
    pytest.param("a\x7fb", id="del"),
    pytest.param("a\x85b", id="c1-nel"),
    pytest.param("a\x9bb", id="c1-csi"),
    # format, line and paragraph separators
    pytest.param("evil\u202etxt.exe", id="bidi-rlo"),
    pytest.param("a\u202ab", id="bidi-lre"),
    pytest.param("a\u2066b", id="bidi-lri"),
    pytest.param("a\u2069b", id="bidi-pdi"),
    pytest.param("a\u200bb", id="zero-width-space"),
    pytest.param("a\u200fb", id="rlm"),
    pytest.param("a\u2028b", id="line-separator"),
    pytest.param("a\u2029b", id="paragraph-separator"),
    pytest.param("\ufeffa", id="bom"),
    # not Unicode scalar values
    pytest.param("a\ud800b", id="lone-high-surrogate"),
    pytest.param("a\udfffb", id="lone-low-surrogate"),
    # names Windows changes
    pytest.param("a ", id="trailing-space"),
    pytest.param("dir./f", id="dir-trailing-dot"),
    pytest.param("dir /f", id="dir-trailing-space"),
    pytest.param("...", id="dots-only"),
    pytest.param("a. .", id="dot-space-dot"),
    # Windows device names, any case, with or without extension
    pytest.param("CON", id="con"),
    pytest.param("con", id="con-lower"),
    pytest.param("Con.txt", id="con-ext"),
    pytest.param("nul.tar.gz", id="nul-double-ext"),
    pytest.param("NUL .txt", id="nul-space-ext"),
    pytest.param("prn", id="prn"),
    pytest.param("aux.c", id="aux"),
    pytest.param("COM0", id="com0"),
    pytest.param("com1", id="com1"),
    pytest.param("COM9.log", id="com9"),
    pytest.param("LPT0", id="lpt0"),
    pytest.param("lpt5.txt", id="lpt5"),
    pytest.param("COM\u00b9", id="com-superscript-1"),
    pytest.param("com\u00b2.txt", id="com-superscript-2"),
    pytest.param("LPT\u00b3", id="lpt-superscript-3"),
    pytest.param("CONIN$", id="conin"),
    pytest.param("conout$.txt", id="conout"),
    pytest.param("photos/CON/a.jpg", id="device-as-folder"),
    # characters Windows does not allow
    pytest.param("a<b", id="less-than"),
    pytest.param("a>b", id="greater-than"),
    pytest.param('a"b', id="quote"),
    pytest.param("a|b", id="pipe"),
    pytest.param("a?b", id="question-mark"),
    pytest.param("a*b", id="star"),
    # sizes
    pytest.param("é" * 128, id="256-byte-component-multibyte"),
    pytest.param("x" * (MAX_COMPONENT_BYTES + 1), id="256-byte-component"),
    pytest.param("/".join(["x" * 200] * 21), id="path-over-4096-bytes"),
    pytest.param("a" * 5000, id="huge"),
    pytest.param("/".join(["a"] * (MAX_DEPTH + 1)), id="65-components"),
]


@pytest.mark.parametrize("path", HOSTILE_NAMES)
def test_hostile_names_are_refused(path: str) -> None:
    with pytest.raises(UnsafeFileName) as caught:
        split_transfer_path(path)

    assert caught.value.reason == "UNSAFE_FILE_NAME"
    assert "name" in caught.value.metadata
    assert caught.value.message.startswith("unsafe file name ")


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("", "empty"),
        ("/abs", "absolute"),
        ("../x", "'..'"),
        ("a//b", "empty component"),
        ("a\\b", "backslash"),
        ("C:x", "':'"),
        ("a.", "ends with a dot or a space"),
        ("CON.txt", "Windows device name"),
        ("a?b", "'?'"),
        ("a\u202eb", "U+202E"),
        ("a\ud800b", "lone surrogate"),
        ("x" * 256, "longer than 255 bytes"),
        ("/".join(["a"] * 65), "more than 64 components"),
    ],
)
def test_the_message_says_what_is_wrong(path: str, problem: str) -> None:
    with pytest.raises(UnsafeFileName) as caught:
        split_transfer_path(path)

    assert problem in caught.value.message


@pytest.mark.parametrize(
    "path",
    ["a\x00b", "a\x1bb\nc", "evil\u202etxt.exe", "a\u2028b", "a\ud800b", "a\x85b"],
)
def test_the_shown_name_has_no_control_characters(path: str) -> None:
    with pytest.raises(UnsafeFileName) as caught:
        split_transfer_path(path)

    for text in (caught.value.metadata["name"], caught.value.message):
        assert text.isprintable()
        assert all(unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp", "Cs") for c in text)
    assert caught.value.metadata["name"] == repr(path)


def test_a_huge_name_is_shown_shortened() -> None:
    with pytest.raises(UnsafeFileName) as caught:
        split_transfer_path("a" * 100_000)

    assert len(caught.value.metadata["name"]) < 300
    assert "100000 characters" in caught.value.metadata["name"]


NFD_E_ACUTE = unicodedata.normalize("NFD", "é")

GOOD_NAMES = [
    pytest.param(
        "\U0001f468\u200d\U0001f469\u200d\U0001f467.jpg",
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467.jpg",),
        id="emoji-zwj-sequence",
    ),
    pytest.param(
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt",
        ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt",),
        id="persian-zwnj",
    ),
    pytest.param("a.jpg", ("a.jpg",), id="plain"),
    pytest.param("photos/2026/a.jpg", ("photos", "2026", "a.jpg"), id="nested"),
    pytest.param("写真/東京.jpg", ("写真", "東京.jpg"), id="cjk"),
    pytest.param("Привет мир.txt", ("Привет мир.txt",), id="cyrillic-space"),
    pytest.param("café.txt", ("café.txt",), id="nfc"),
    pytest.param(f"caf{NFD_E_ACUTE}.txt", (f"caf{NFD_E_ACUTE}.txt",), id="nfd-kept-as-sent"),
    pytest.param("😀 party.png", ("😀 party.png",), id="emoji"),
    pytest.param("my notes.txt", ("my notes.txt",), id="space-inside"),
    pytest.param(" leading.txt", (" leading.txt",), id="leading-space"),
    pytest.param(".hidden", (".hidden",), id="dotfile"),
    pytest.param(".config/app.toml", (".config", "app.toml"), id="dot-folder"),
    pytest.param("..a", ("..a",), id="two-dots-then-name"),
    pytest.param("a..b", ("a..b",), id="dots-inside"),
    pytest.param("a.tar.gz", ("a.tar.gz",), id="double-extension"),
    pytest.param("CONSOLE.txt", ("CONSOLE.txt",), id="device-prefix-only"),
    pytest.param("com10", ("com10",), id="com10"),
    pytest.param("lpt", ("lpt",), id="lpt-without-digit"),
    pytest.param("my.con", ("my.con",), id="device-as-extension"),
    pytest.param("a$b#c%d&e'f(g)h+i,j;k=l@m[n]o^p`q{r}s~t", None, id="punctuation"),
    pytest.param("non\u00a0breaking", ("non\u00a0breaking",), id="nbsp"),
    pytest.param("x" * MAX_COMPONENT_BYTES, None, id="255-byte-component"),
    pytest.param("é" * 127 + "x", None, id="255-byte-component-multibyte"),
    pytest.param("/".join(["a"] * MAX_DEPTH), None, id="64-components"),
    pytest.param("/".join(["x" * 254] * 16), None, id="path-of-4079-bytes"),
]


@pytest.mark.parametrize(("path", "components"), GOOD_NAMES)
def test_good_names_are_split_into_their_components(
    path: str, components: tuple[str, ...] | None
) -> None:
    expected = components if components is not None else tuple(path.split("/"))

    assert split_transfer_path(path) == expected


def test_limits_are_at_the_edge() -> None:
    longest = "/".join(["x" * 254] * 16) + "/" + "y" * 16
    assert len(longest.encode()) == MAX_PATH_BYTES

    assert len(split_transfer_path(longest)) == 17
    with pytest.raises(UnsafeFileName, match="longer than 4096 bytes"):
        split_transfer_path(longest + "y")


def test_random_strings_never_give_unsafe_components() -> None:
    """Accepted paths join back to themselves and have only plain components."""
    alphabet = "ab./\\:\0 \t\n\u202e\u200b\ufeffé\u0301~$<>|?*CONULPT1\u00b9"
    rng = random.Random(20260101)
    accepted = 0
    for _ in range(20_000):
        path = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        try:
            components = split_transfer_path(path)
        except UnsafeFileName:
            continue
        accepted += 1
        assert "/".join(components) == path
        for component in components:
            assert component not in ("", ".", "..")
            assert "/" not in component and "\0" not in component and "\\" not in component
    assert accepted > 100  # the alphabet is not so hostile that nothing passes


@pytest.mark.parametrize(
    ("name", "taken", "expected"),
    [
        ("a.jpg", set(), "a.jpg"),
        ("a.jpg", {"a.jpg"}, "a (1).jpg"),
        ("a.jpg", {"a.jpg", "a (1).jpg", "a (2).jpg"}, "a (3).jpg"),
        ("notes", {"notes"}, "notes (1)"),
        ("archive.tar.gz", {"archive.tar.gz"}, "archive (1).tar.gz"),
        ("ARCHIVE.TAR.XZ", {"ARCHIVE.TAR.XZ"}, "ARCHIVE (1).TAR.XZ"),
        ("report.v2.pdf", {"report.v2.pdf"}, "report.v2 (1).pdf"),
        (".bashrc", {".bashrc"}, ".bashrc (1)"),
        (".config.json", {".config.json"}, ".config (1).json"),
        ("..a", {"..a"}, "..a (1)"),
        ("a (1).jpg", {"a (1).jpg"}, "a (1) (1).jpg"),
        ("東京.jpg", {"東京.jpg"}, "東京 (1).jpg"),
    ],
)
def test_unique_name(name: str, taken: set[str], expected: str) -> None:
    assert unique_name(name, taken.__contains__) == expected


def test_unique_name_shortens_the_stem_to_stay_within_255_bytes() -> None:
    name = "x" * 251 + ".txt"
    assert len(name.encode()) == MAX_COMPONENT_BYTES

    result = unique_name(name, {name}.__contains__)

    assert result == "x" * 247 + " (1).txt"
    assert len(result.encode()) == MAX_COMPONENT_BYTES


@pytest.mark.parametrize("char", ["é", "東", "😀"])
def test_unique_name_never_splits_a_character(char: str) -> None:
    width = len(char.encode())
    name = char * ((MAX_COMPONENT_BYTES - len(".bin")) // width) + ".bin"

    result = unique_name(name, {name}.__contains__)

    assert len(result.encode()) <= MAX_COMPONENT_BYTES
    assert result.endswith(" (1).bin")
    assert set(result.removesuffix(" (1).bin")) == {char}
    assert split_transfer_path(result) == (result,)


def test_unique_name_makes_room_for_longer_numbers() -> None:
    name = "é" * 127 + "x"  # 255 bytes, no extension

    result = unique_name(name, lambda candidate: not candidate.endswith("(10)"))

    assert result == "é" * 125 + " (10)"
    assert len(result.encode()) == MAX_COMPONENT_BYTES


def test_unique_name_keeps_a_very_long_extension_as_part_of_the_stem() -> None:
    name = "a." + "x" * 252

    result = unique_name(name, {name}.__contains__)

    assert result == name[:251] + " (1)"
    assert split_transfer_path(result) == (result,)


def test_unique_name_gives_up_after_ten_thousand_tries() -> None:
    asked: list[str] = []

    def always_taken(candidate: str) -> bool:
        asked.append(candidate)
        return True

    with pytest.raises(FileExistsError):
        unique_name("a.txt", always_taken)

    assert len(asked) == 10_001
    assert asked[-1] == "a (10000).txt"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / "u"
    for folder in (".ssh", ".config/autostart", ".local/share", "bin", "Downloads"):
        (home / folder).mkdir(parents=True)
    (tmp_path / "ssh-link").symlink_to(home / ".ssh")
    (home / "Downloads" / "inbox-link").symlink_to(home / ".config", target_is_directory=True)
    return home


DANGEROUS_IN_HOME = [
    ".",
    "..",
    "../..",
    ".ssh",
    ".ssh/kizuna",
    ".sshx",
    ".gnupg",
    ".config",
    ".config/autostart",
    ".local",
    ".local/share/kizuna",
    ".cache",
    ".mozilla/firefox",
    ".password-store",
    ".bin",
    "bin",
    "bin/tools",
    "Downloads/../.ssh",
    "Downloads/inbox-link",
    "Downloads/inbox-link/new",
]


@pytest.mark.parametrize("relative", DANGEROUS_IN_HOME)
def test_dangerous_inboxes_in_home_are_refused(home: Path, relative: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_inbox(home / relative, home=home)

    assert caught.value.reason == "INVALID_ARGUMENT"
    assert caught.value.metadata["key"] == "transfers.inbox"
    assert "transfers.inbox" in caught.value.message
    assert str(home / relative) in caught.value.message
    assert "~/Downloads/Kizuna" in caught.value.message


def test_a_link_to_ssh_is_refused_and_the_message_shows_where_it_leads(
    home: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        check_inbox(tmp_path / "ssh-link", home=home)

    assert f"resolves to {home / '.ssh'}" in caught.value.message
    assert "hidden folder" in caught.value.message


@pytest.mark.parametrize(
    "inbox",
    [
        "/",
        "/etc",
        "/etc/kizuna",
        "/usr",
        "/usr/local/bin",
        "/bin",
        "/sbin",
        "/lib",
        "/lib64",
        "/boot",
        "/dev",
        "/dev/shm/inbox",
        "/proc",
        "/proc/1",
        "/sys",
        "/run",
        "/run/user/1000",
        "/var/lib",
        "/var/lib/kizuna",
        "/var/spool/cron",
        "/home",
        "/tmp",
        "/var",
        "/var/tmp",
        "/root",
        "/root/.ssh",
        "/etc/../etc/cron.d",
    ],
)
def test_system_folders_are_refused(home: Path, inbox: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_inbox(Path(inbox), home=home)

    assert caught.value.metadata["key"] == "transfers.inbox"
    assert inbox in caught.value.message


@pytest.mark.parametrize(
    "inbox",
    [
        "/etcetera",
        "/usrlocal/inbox",
        "/tmp/kizuna-inbox",
        "/var/tmp/kizuna",
        "/home/other/inbox",
        "/srv/kizuna",
        "/mnt/usb/Kizuna",
        "/run/media/u/USB/Kizuna",
        "/rootless",
    ],
)
def test_ordinary_folders_outside_home_are_accepted(home: Path, inbox: str) -> None:
    check_inbox(Path(inbox), home=home)


@pytest.mark.parametrize(
    "relative",
    ["Downloads", "Downloads/Kizuna", "inbox", "Kizuna", "bins", "notbin/x", "a/.hidden/b"],
)
def test_ordinary_folders_in_home_are_accepted(home: Path, relative: str) -> None:
    check_inbox(home / relative, home=home)


def test_a_home_reached_through_a_link_is_still_protected(home: Path, tmp_path: Path) -> None:
    linked_home = tmp_path / "home-link"
    linked_home.symlink_to(home)

    with pytest.raises(ConfigError):
        check_inbox(home / ".ssh", home=linked_home)
    with pytest.raises(ConfigError):
        check_inbox(linked_home / ".config", home=home)
    check_inbox(linked_home / "Downloads" / "Kizuna", home=home)


def test_a_symlink_loop_is_a_config_error(home: Path, tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")

    with pytest.raises(ConfigError) as caught:
        check_inbox(tmp_path / "loop" / "inbox", home=home)

    assert caught.value.metadata["key"] == "transfers.inbox"
