"""`kizuna plugins | send-text | texts | clipboard` as people and scripts use them: the real
command in a subprocess against two paired daemons in this process.

Tests wait on the daemons' events or on the command's own output, never on the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

import pytest

from kizuna_client import Kizuna
from kizuna_server.cli import safe
from kizuna_server.cli_plugins import add_commands, text_line
from tests.p2p.peerpair import Nodes, paired
from tests.plugins.test_plugins import (
    BROKEN,
    data,
    holding,
    plugin_event,
    plugin_file,
    require_x,
    with_entries,
    x_server,
    xclip_out,
)
from tests.test_cli_commands import ended, run_bytes, shown
from tests.test_cli_transfers import kizuna, start

pytestmark = pytest.mark.asyncio


async def test_plugins_lists_text_and_clipboard_running(nodes: Nodes, tmp_path: Path) -> None:
    broken = plugin_file(tmp_path, "broken", BROKEN)
    b = await nodes.start(
        "beta",
        {
            "plugins": {
                "enabled": ["transfers", "streams", "commands", "text"],
                "entries": [{"name": "broken", "path": f"{broken}:Broken"}],
            }
        },
    )
    code, out, err = await kizuna(b, "plugins")
    assert code == 0, err
    blocks = {block.split()[0]: block for block in _blocks(out)}
    assert set(blocks) == {"broken", "clipboard", "text"}
    text = blocks["text"].splitlines()
    assert text[0].split() == ["text", "running", "entry", "point", "of", "kizuna"]
    assert "  capabilities  text" in text
    assert "  peers run     text.message" in text
    (local,) = [line for line in text if line.startswith("  local ")]
    assert sorted(local.split(maxsplit=1)[1].split(", ")) == ["clear", "inbox"]
    assert blocks["clipboard"].splitlines()[0].split()[:2] == ["clipboard", "disabled"]
    assert "not in plugins.enabled" in blocks["clipboard"]
    failed = blocks["broken"]
    assert failed.splitlines()[0].split()[:2] == ["broken", "failed"]
    assert "error: plugin broken could not start: RuntimeError: no widget here" in failed
    assert "restart the daemon" in failed

    a = await nodes.start("alpha")
    code, out, err = await kizuna(a, "plugins", "--json")
    assert code == 0, err
    listed = {p["name"]: p for p in map(json.loads, out.splitlines())}
    assert set(listed) == {"text", "clipboard"}
    assert {p["state"] for p in listed.values()} == {"STATE_RUNNING"}
    assert listed["text"]["capabilities"] == ["text"]
    assert [c["id"] for c in listed["clipboard"]["commands"]] == ["clipboard.set"]


def _blocks(out: str) -> list[str]:
    """`kizuna plugins` output, one block per plugin (its first line is not indented)."""
    blocks: list[str] = []
    for line in out.splitlines():
        if line.startswith(" ") and blocks:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


async def test_send_text_then_texts_shows_it(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    code, out, err = await kizuna(b, "texts")
    assert (code, err) == (0, "")
    assert out.startswith("no texts")

    mark = b.events.mark()
    code, out, err = await kizuna(a, "send-text", "beta", "hello", "there,", "beta")
    assert code == 0, err
    assert out.strip() == "sent to beta"
    await b.events.wait_for(
        "plugin_event", plugin_event("text", "text_received", message="hello there, beta"),
        after=mark,
    )  # fmt: skip
    # From standard input ('-'), several lines; the last line end is left out.
    status, _, error = await run_bytes(a, "send-text", b.id[:8], "-", data=b"line one\nline two\n")
    assert status == 0, error
    code, out, err = await kizuna(a, "send-text", "beta", "https://example.com/page")
    assert code == 0, err

    code, out, err = await kizuna(b, "texts")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "FROM", "MESSAGE"]
    assert lines[1].endswith("  alpha                 hello there, beta")
    assert lines[2].endswith("  alpha                 line one")
    assert lines[3] == " " * 40 + "line two"
    assert lines[4].endswith("  alpha                 [link] https://example.com/page")
    assert len(lines) == 5

    code, out, err = await kizuna(b, "texts", "--json", "--clear")
    assert code == 0, err
    messages = [json.loads(line) for line in out.splitlines()]
    assert [m["message"] for m in messages] == [
        "hello there, beta",
        "line one\nline two",
        "https://example.com/page",
    ]
    assert {(m["from"], m["from_name"]) for m in messages} == {(a.id, "alpha")}
    assert messages[2]["link"] == "https://example.com/page"
    assert "emptied" in err
    assert await b.client.text_inbox() == []


async def test_texts_follow_prints_new_ones_until_ctrl_c(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    await a.client.send_text(b.id, "before")
    following = await start(b, "texts", "--follow", "--json")
    try:
        await shown(following.stderr, "Ctrl-C stops")
        for message in ("first\nof two lines", "second"):
            await a.client.send_text(b.id, message)
        seen = [json.loads(await _line(following.stdout)) for _ in range(3)]
        assert [m["message"] for m in seen] == ["before", "first\nof two lines", "second"]
        assert all(m["from_name"] == "alpha" for m in seen)
        assert len({m["id"] for m in seen}) == 3
        following.send_signal(signal.SIGINT)
    finally:
        code, rest, _ = await ended(following)
    assert code == 130 and rest == b""


async def _line(stream: asyncio.StreamReader | None) -> str:
    assert stream is not None
    async with asyncio.timeout(15):
        line = await stream.readline()
    assert line, "the command ended early"
    return line.decode()


async def test_texts_follow_for_people(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    following = await start(b, "texts", "--follow")
    try:
        await shown(following.stderr, "Ctrl-C stops")
        await a.client.send_text(b.id, "evil \x1b[31mred\x1b[0m")
        line = await _line(following.stdout)
        assert line.rstrip("\n").endswith("alpha                 evil \\x1b[31mred\\x1b[0m")
        following.send_signal(signal.SIGINT)
    finally:
        await ended(following)


async def test_send_text_errors_say_what_to_do(nodes: Nodes) -> None:
    a, b = await paired(nodes, plugins={"enabled": ["transfers", "streams", "commands"]})
    code, _, err = await kizuna(a, "send-text", "nobody", "hi")
    assert code == 1 and "no peer matches 'nobody'" in err
    code, _, err = await kizuna(a, "send-text", "beta", "hi")
    assert code == 1
    assert "its text plugin is not running; on it, 'kizuna plugins' shows why" in err
    code, _, err = await kizuna(b, "texts")
    assert code == 1
    assert "the text plugin is not running on this device; 'kizuna plugins' shows why" in err
    status, _, error = await run_bytes(a, "send-text", "beta", "-", data=b"\n")
    assert status == 1 and b"the message is empty" in error

    c = await nodes.start("gamma")
    await b.client.add_peer(c.address, persist=False)
    code, _, err = await kizuna(b, "send-text", "gamma", "hi")
    assert code == 1 and "kizuna pair gamma" in err


async def test_send_text_refused_by_the_peer_says_the_limits(nodes: Nodes) -> None:
    a, _ = await paired(nodes)
    code, _, err = await kizuna(a, "send-text", "beta", "x" * 4097)
    assert code == 1
    assert "a message is 1 to 4096 characters" in err


async def test_clipboard_without_a_display_says_what_to_do(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    a, b = await paired(nodes)
    for args in (("clipboard", "get"), ("clipboard", "send", "beta")):
        code, _, err = await kizuna(a, *args)
        assert code == 1, args
        assert "DISPLAY" in err and "apt install xclip" in err and "XWayland" in err

    code, out, err = await kizuna(a, "clipboard", "sync", "beta", "on")
    assert code == 0, err
    assert "kizuna clipboard sync alpha on" in out
    assert "kept in step with: beta" in out
    assert await a.client.sync_clipboard(b.id, True) == [b.id]
    code, out, err = await kizuna(a, "clipboard", "sync", b.id, "off")
    assert code == 0, err
    assert "no longer goes to beta" in out and "kept in step with: no peer" in out


async def test_clipboard_send_and_get(nodes: Nodes, monkeypatch: pytest.MonkeyPatch) -> None:
    require_x()
    async with x_server() as display:
        monkeypatch.setenv("DISPLAY", display)
        a, b = await paired(nodes)
        content = "from the command line\n"
        held = await holding(display, content.encode())
        try:
            code, out, err = await run_bytes(a, "clipboard", "get")
            assert (code, out) == (0, content.encode()), err
            mark = b.events.mark()
            code, out, err = await run_bytes(a, "clipboard", "send", "beta")
            assert code == 0, err
            assert out == b"sent this device's clipboard to beta\n"
            event = await b.events.wait_for(
                "plugin_event", plugin_event("clipboard", "clipboard_received"), after=mark
            )
            assert data(event.payload)["text"] == content
            async with asyncio.timeout(10):
                await held.wait()  # beta's xclip took the clipboard
        finally:
            if held.returncode is None:
                held.kill()
                await held.wait()
        assert await xclip_out(display) == content.encode()


@pytest.fixture
def wired() -> None:
    """Hands the CLI's `safe` to the plugin commands, as `kizuna` does at start."""
    commands = argparse.ArgumentParser().add_subparsers()
    add_commands(commands, argparse.ArgumentParser(add_help=False), lambda _: Kizuna(), safe)


async def test_what_peers_and_plugins_say_is_escaped(
    nodes: Nodes, tmp_path: Path, wired: None
) -> None:
    """What a peer or a plugin says reaches the terminal escaped."""
    line = text_line({"time": 0, "from_name": "\x1b[2Jx", "message": "a\u202eb\nc\x07"})
    assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
    assert "\\x1b[2Jx" in line and "a\\u202eb" in line and line.endswith("c\\x07")
    entry = {"name": "echo", "path": f"{plugin_file(tmp_path, 'e', _ESCAPED)}:Echo"}
    b = await nodes.start("beta", with_entries(entry))
    code, out, err = await kizuna(b, "plugins")
    assert code == 0, err
    assert "\x1b" not in out and "desc \\x1b[31mred" in out


_ESCAPED = """
    from kizuna_server.plugins import Plugin


    class Echo(Plugin):
        name = "echo"
        description = "desc \\x1b[31mred"
"""
