"""The released API is frozen: `buf breaking` against api/kizuna-0.1.0.binpb (scripts/test runs
it) passes on the tree and fails on a breaking change, in either package."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IMAGE = REPO / "api" / "kizuna-0.1.0.binpb"


def _buf() -> str:
    found = shutil.which("buf") or str(REPO / "node_modules" / ".bin" / "buf")
    if not Path(found).exists():
        pytest.fail("buf is missing: scripts/dev-env --tools installs it from npm")
    return found


def _breaking(workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_buf(), "breaking", str(workspace), "--against", str(IMAGE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    workspace = tmp_path / "tree"
    shutil.copytree(REPO / "proto", workspace / "proto")
    shutil.copy(REPO / "buf.yaml", workspace / "buf.yaml")
    return workspace


def test_the_tree_keeps_the_released_api(tmp_path: Path) -> None:
    done = _breaking(_copy(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("path", "old", "new", "named"),
    [
        # A renamed enum value in the local API.
        (
            "kizuna/v1/node.proto",
            "SUBSYSTEM_NAME_PLUGINS = 9;",
            "SUBSYSTEM_NAME_ADDONS = 9;",
            "SubsystemName",
        ),
        # A field's type changed in the protocol between daemons.
        ("kizuna/peer/v1/device.proto", "string", "bytes", "changed type"),
    ],
)
def test_a_breaking_change_fails(tmp_path: Path, path: str, old: str, new: str, named: str) -> None:
    workspace = _copy(tmp_path)
    target = workspace / "proto" / path
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new, 1))
    done = _breaking(workspace)
    assert done.returncode != 0
    assert named in done.stdout + done.stderr


def test_the_proto_files_name_the_packages_the_generated_code_uses() -> None:
    """go_package, java_package and java_multiple_files written in each .proto file equal what
    buf's managed mode gives the committed stubs, so plain protoc users get the same names."""
    import re

    from kizuna_client.v1 import node_pb2
    from kizuna_server.p2p.wire import device_pb2

    for module, folder in ((node_pb2, "kizuna/v1"), (device_pb2, "kizuna/peer/v1")):
        options = module.DESCRIPTOR.GetOptions()
        for path in sorted((REPO / "proto" / folder).glob("*.proto")):
            text = path.read_text()
            found = re.findall(r'^option (\w+) = ("[^"]*"|\w+);', text, re.M)
            written = {name: value.strip('"') for name, value in found}
            assert written == {
                "go_package": options.go_package,
                "java_multiple_files": str(options.java_multiple_files).lower(),
                "java_package": options.java_package,
            }, path
