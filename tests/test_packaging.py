"""The distributions build, ship what they must, and work once installed in fresh environments.

`python -m build` makes the `kizuna` sdist and, from it, the wheel; each is installed into a new
venv (`python -m venv`, its own pip, PyPI) and run from outside the checkout, so nothing is
imported from the source tree. The client-only distribution (clients/python) is installed the
same way and must work without the daemon. pip's cache makes repeated runs take seconds.
"""

import ast
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import pytest

pytestmark = pytest.mark.timeout(300)  # a first run downloads the dependencies from PyPI

REPO: Final = Path(__file__).resolve().parents[1]
EXAMPLES: Final = REPO / "examples"
#: Where each package of the full distribution lives in the checkout.
PACKAGES: Final = {
    "kizuna_server": REPO / "server" / "kizuna_server",
    "kizuna_client": REPO / "kizuna_client",
    "kizuna": REPO / "kizuna",
}
#: Shipped files: sources, stubs and the PEP 561 markers.
SHIPPED_SUFFIXES: Final = {".py", ".pyi", ".typed"}
COMMAND_LIMIT: Final = 240.0


def _env() -> dict[str, str]:
    """The environment without anything that would point Python or Kizuna at the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KIZUNA_")
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_NO_CACHE_DIR")
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _run(argv: Sequence[str | Path], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Runs a command to its end; returns its stdout, or fails with its output."""
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env if env is not None else _env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_LIMIT,
        check=False,
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, argv))} exited {done.returncode}:\n"
        f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


def _venv(path: Path) -> Path:
    """A fresh virtual environment with its own pip; returns its python."""
    _run([sys.executable, "-m", "venv", path], cwd=path.parent)
    return path / "bin" / "python"


def _pip_install(python: Path, *what: str | Path) -> None:
    _run([python, "-m", "pip", "install", "--quiet", *what], cwd=python.parents[2])


def _package_files() -> set[str]:
    """Every file the full wheel should hold, as paths inside the wheel."""
    return {
        f"{name}/{path.relative_to(root).as_posix()}"
        for name, root in PACKAGES.items()
        for path in root.rglob("*")
        if path.suffix in SHIPPED_SUFFIXES and "__pycache__" not in path.parts
    }


def _example_imports() -> str:
    """The import statements of every example, one per line, as written there."""
    found: dict[str, None] = {}
    for example in sorted(EXAMPLES.glob("*.py")):
        tree = ast.parse(example.read_text(encoding="utf-8"))
        statements = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        assert any(isinstance(n, ast.ImportFrom) and n.module == "kizuna" for n in statements), (
            f"{example.name} does not import from kizuna"
        )
        found.update(dict.fromkeys(ast.unparse(n) for n in statements))
    return "\n".join(found)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("packaging")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def dists(work: Path) -> tuple[Path, Path]:
    """The full distribution built by `python -m build`: (sdist, wheel built from the sdist)."""
    out = work / "dist"
    _run([sys.executable, "-m", "build", "--outdir", out, REPO], cwd=work)
    sdists, wheels = list(out.glob("kizuna-*.tar.gz")), list(out.glob("kizuna-*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return sdists[0], wheels[0]


def test_the_wheel_ships_every_module_stub_and_type_marker(dists: tuple[Path, Path]) -> None:
    sdist, wheel = dists
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read("kizuna-0.1.0.dist-info/entry_points.txt").decode()
    shipped = {n for n in names if not n.startswith("kizuna-0.1.0.dist-info/")}
    assert shipped == _package_files()
    for package in PACKAGES:
        assert f"{package}/py.typed" in shipped
    generated = [n for n in shipped if n.endswith(("_pb2.py", "_pb2_grpc.py"))]
    assert any(n.startswith("kizuna_client/v1/") for n in generated)
    assert any(n.startswith("kizuna_server/p2p/wire/") for n in generated)
    assert [n for n in generated if n + "i" not in shipped] == []  # every one has its .pyi
    assert "kizuna = kizuna_server.cli:main" in entry_points
    with tarfile.open(sdist) as archive:
        members = {name.partition("/")[2] for name in archive.getnames()}
    assert {f"examples/{p.name}" for p in EXAMPLES.glob("*.py")} <= members
    assert {"pyproject.toml", "README.md", "proto/kizuna/v1/node.proto"} <= members


def test_the_wheel_installs_the_daemon_cli_client_and_what_the_examples_import(
    dists: tuple[Path, Path], work: Path
) -> None:
    python = _venv(work / "wheel-venv")
    _pip_install(python, dists[1])
    outside = work / "elsewhere"  # not the checkout: imports must come from the venv
    outside.mkdir()

    assert "usage: kizuna" in _run([python.parent / "kizuna", "--help"], cwd=outside)
    where = _run(
        [
            python,
            "-I",
            "-c",
            "from kizuna import Kizuna; import kizuna_client.v1.node_pb2, kizuna_server.app\n"
            "import kizuna_client, kizuna_server; print(kizuna_client.__file__)\n"
            "print(kizuna_server.__file__)",
        ],
        cwd=outside,
    )
    assert all(line.startswith(str(work / "wheel-venv")) for line in where.split()), where
    _run([python, "-I", "-c", _example_imports()], cwd=outside)
    for example in sorted(EXAMPLES.glob("*.py")):
        assert "usage:" in _run([python, "-I", example, "--help"], cwd=outside)

    # The installed packages carry their types (PEP 561): the examples check against them.
    copies = outside / "examples"
    shutil.copytree(EXAMPLES, copies, ignore=shutil.ignore_patterns("__pycache__"))
    (outside / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    check: list[str | Path] = [sys.executable, "-m", "mypy", "--strict"]
    check += ["--config-file", outside / "mypy.ini", "--cache-dir", work / "mypy-cache"]
    check += ["--python-executable", python, *sorted(copies.glob("*.py"))]
    _run(check, cwd=outside)


def test_the_sdist_installs_the_cli(dists: tuple[Path, Path], work: Path) -> None:
    python = _venv(work / "sdist-venv")
    _pip_install(python, dists[0])
    outside = work / "elsewhere-sdist"
    outside.mkdir()
    assert "usage: kizuna" in _run([python.parent / "kizuna", "--help"], cwd=outside)
    assert "0.1.0" in _run([python.parent / "kizuna", "--version"], cwd=outside)


def test_the_client_distribution_installs_without_the_daemon(work: Path) -> None:
    python = _venv(work / "client-venv")
    _pip_install(python, REPO / "clients" / "python")
    outside = work / "elsewhere-client"
    outside.mkdir()
    found = _run(
        [
            python,
            "-I",
            "-c",
            "import importlib.util as u\n"
            "from kizuna import Kizuna, KizunaError\n"
            "import kizuna_client.v1.node_pb2\n"
            "print([m for m in ('kizuna_server', 'zeroconf', 'cryptography') if u.find_spec(m)])",
        ],
        cwd=outside,
    )
    assert found.strip() == "[]"
    assert not (python.parent / "kizuna").exists()  # the CLI belongs to the full distribution
    # With no daemon to attach to, Kizuna() says what to install instead of failing obscurely.
    attempt = (
        "import asyncio\n"
        "from kizuna import Kizuna, KizunaError\n"
        "async def main() -> None:\n"
        "    kizuna = Kizuna()\n"
        "    try:\n"
        "        await kizuna.node()\n"
        "    except KizunaError as e:\n"
        "        print(e)\n"
        "    finally:\n"
        "        await kizuna.shutdown()\n"
        "asyncio.run(main())\n"
    )
    env = {**_env(), "KIZUNA_HOME": str(outside / "home")}
    assert "pip install kizuna" in _run([python, "-I", "-c", attempt], cwd=outside, env=env)


def test_the_client_sdist_builds_the_same_wheel_as_the_checkout(work: Path) -> None:
    out = work / "client-dist"
    _run([sys.executable, "-m", "build", "--outdir", out, REPO / "clients" / "python"], cwd=work)
    (wheel,) = out.glob("kizuna_client-*.whl")  # built from the sdist, not from the checkout
    with zipfile.ZipFile(wheel) as archive:
        shipped = {n for n in archive.namelist() if not n.startswith("kizuna_client-0.1.0.dist")}
    expected = {n for n in _package_files() if not n.startswith("kizuna_server/")}
    assert shipped == expected


#: The Pythons the project supports beside the one running the tests (requires-python >= 3.11).
OTHER_PYTHONS: Final = ("3.12", "3.13")


def _interpreter(version: str) -> Path | None:
    """A `python<version>` on this machine (pyenv's included) that really is that version."""
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(p) for p in Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python3")]
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip() == version:
            return Path(candidate)
    return None


@pytest.mark.parametrize("version", OTHER_PYTHONS)
def test_the_wheel_runs_a_node_on_each_supported_python(
    version: str, dists: tuple[Path, Path], work: Path
) -> None:
    """The same wheel installs under every supported Python found here and runs a real node:
    grpcio, cryptography and zeroconf load, the daemon starts, the client reaches it."""
    interpreter = _interpreter(version)
    if interpreter is None:
        pytest.skip(f"Python {version} is not installed on this machine")
    venv = work / f"py{version}-venv"
    _run([interpreter, "-m", "venv", venv], cwd=work)
    python = venv / "bin" / "python"
    _pip_install(python, dists[1])
    outside = work / f"elsewhere-{version}"
    outside.mkdir()
    program = (
        "import asyncio, sys\n"
        "from kizuna import Kizuna\n"
        "async def main() -> None:\n"
        "    config = {'home': sys.argv[1], 'identity': {'device_name': 'py-check'},\n"
        "              'discovery': {'enable_mdns': False, 'enable_udp': False},\n"
        "              'networking': {'listen_port': 0}}\n"
        "    async with Kizuna(config) as kizuna:\n"
        "        node = await kizuna.node()\n"
        "        print(node.name, node.state, sys.version_info[:2] >= (3, 11))\n"
        "asyncio.run(main())\n"
    )
    out = _run([python, "-I", "-c", program, outside / "home"], cwd=outside)
    assert out.split() == ["py-check", "ready", "True"], out
