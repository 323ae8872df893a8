"""Crash-safe writes, private directories and socket paths (kizuna_server/files.py)."""

import os
import socket
import stat
from pathlib import Path

import pytest

from kizuna_server.files import (
    UnsafePath,
    check_private_directory,
    ensure_private_directory,
    remove_stale_socket,
    write_file_atomically,
)


def test_write_replaces_whole_file_with_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    write_file_atomically(target, b"new", mode=0o640)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary left


def test_leftover_temporaries_from_a_crash_do_not_block_writes(tmp_path: Path) -> None:
    target = tmp_path / "daemon.json"
    for leftover in (f".daemon.json.{os.getpid()}.tmp", ".daemon.json.abc123.tmp"):
        (tmp_path / leftover).write_text("half written")
    write_file_atomically(target, b"{}")
    assert target.read_bytes() == b"{}"


def test_failed_write_keeps_the_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "key"
    target.write_bytes(b"old")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "disk on fire")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk on fire"):
        write_file_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_private_directory_is_created_and_tightened(tmp_path: Path) -> None:
    loose = tmp_path / "run"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    ensure_private_directory(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    fresh = tmp_path / "a" / "b"
    ensure_private_directory(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700


def test_a_link_is_not_a_private_directory(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UnsafePath, match="not a directory"):
        ensure_private_directory(tmp_path / "link")
    with pytest.raises(UnsafePath, match="not a directory"):
        check_private_directory(tmp_path / "link", key="api.socket_path")


def test_check_private_directory_only_checks(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UnsafePath, match=r"api\.socket_path"):
        check_private_directory(shared, key="api.socket_path")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o777
    with pytest.raises(UnsafePath, match="does not exist"):
        check_private_directory(tmp_path / "missing", key="api.socket_path")
    shared.chmod(0o700)
    check_private_directory(shared, key="api.socket_path")


def test_stale_socket_is_removed_live_one_and_files_are_not(tmp_path: Path) -> None:
    path = tmp_path / "k.sock"
    remove_stale_socket(path)  # nothing there: fine
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(os.fspath(path))
        listening.listen()
        with pytest.raises(UnsafePath, match="another process is listening"):
            remove_stale_socket(path)
        assert path.exists()
    remove_stale_socket(path)  # closed: stale now
    assert not path.exists()
    path.write_text("not a socket")
    with pytest.raises(UnsafePath, match="not a socket"):
        remove_stale_socket(path)
    assert path.read_text() == "not a socket"
