"""The daemon's layers, held by its imports.

A capability package (a folder of kizuna_server with a `capability.py`: transfers, streams,
...) brings its own peer-plane service and API servicer and is registered by the composition
root (`app.py`). The planes and the shared helpers never import a capability, so a new
capability changes no plane; `core` does no I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kizuna_server

PACKAGE = Path(kizuna_server.__file__).parent
#: Packages that must not import any capability: the peer plane, the control API, the helpers
#: both share, and the domain core.
PLANES = ("p2p", "rpc", "calls", "core")


def _capabilities() -> set[str]:
    return {p.parent.name for p in PACKAGE.glob("*/capability.py")}


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, TYPE_CHECKING imports included, as dotted names."""
    return _imports_of(path.read_text(), path)


def _imports_of(source: str, path: Path) -> set[str]:
    tree = ast.parse(source, filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.level:  # relative: resolve against the file's package
                base = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                found.add(".".join((*base, node.module)))
                found.update(".".join((*base, node.module, a.name)) for a in node.names)
            else:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (PACKAGE / package).rglob("*.py") if "wire" not in p.parts)


def test_the_capabilities_are_found() -> None:
    assert {"transfers", "streams"} <= _capabilities()


@pytest.mark.parametrize("plane", PLANES)
def test_no_plane_imports_a_capability(plane: str) -> None:
    capabilities = _capabilities()
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _modules(plane)
        for name in _imports(path)
        if name.startswith("kizuna_server.") and name.split(".")[1] in capabilities
    }
    assert not offending, sorted(offending)


def test_the_peer_plane_and_the_control_api_do_not_import_each_other() -> None:
    crossings = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for plane, other in (("p2p", "rpc"), ("calls", "p2p"), ("calls", "rpc"))
        for path in _modules(plane)
        for name in _imports(path)
        if name == f"kizuna_server.{other}" or name.startswith(f"kizuna_server.{other}.")
    }
    assert not crossings, sorted(crossings)


def test_the_core_does_no_io() -> None:
    io = ("asyncio", "grpc", "zeroconf", "socket", "kizuna_server.p2p", "kizuna_server.rpc")
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _modules("core")
        for name in _imports(path)
        if any(name == m or name.startswith(f"{m}.") for m in io)
    }
    assert not offending, sorted(offending)


def test_the_import_reader_sees_every_form() -> None:
    sample = PACKAGE / "p2p" / "sample.py"  # never written: only its name is used
    tree = """
import kizuna_server.transfers.engine
from kizuna_server import transfers
from ..streams import engine
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from kizuna_server.streams.engine import Streams
"""
    names = _imports_of(tree, sample)
    assert {
        "kizuna_server.transfers.engine",
        "kizuna_server.transfers",
        "kizuna_server.streams",
        "kizuna_server.streams.engine",
    } <= names
