"""`mypy --strict` accepts a program written for the seed binding, and refuses misuse of the API.

seed_program.py must check clean with the project's configuration; each line marked `# error`
in MISUSE must be reported, and no other line, so the check is shown able to fail.
"""

import re
import subprocess
import sys
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[2]
SEED_PROGRAM: Final = Path(__file__).with_name("seed_program.py")

MISUSE: Final = """\
from kizuna import Kizuna, KizunaConfig, TransferProgress


async def main(progress: TransferProgress) -> None:
    kizuna = Kizuna()
    peers = await kizuna.discover_peers()
    await kizuna.start_stream("video", peers[0].id, 80)  # error
    await kizuna.start_stream("screen", peers[0].id, "high")  # error
    weak: KizunaConfig = {"security": {"enable_encryption": False}}  # error
    odd: KizunaConfig = {"security": {"trust_mode": "paranoid"}}  # error
    typo: KizunaConfig = {"discovery": {"enable_mdsn": True}}  # error
    share: float = progress.percentage  # error
    port: int = peers[0].addresses[0]  # error
    handle = await kizuna.transfer_file("a.txt", peers[0].id)
    handle.transfer_id = "mine"  # error
    for event in await kizuna.subscribe_events():
        print(event.event_type, event.data, event.sequence)  # error
    await kizuna.shutdown()
    print(weak, odd, typo, share, port)
"""


def _mypy(path: Path) -> list[str]:
    """mypy's error lines for `path`, with the project's configuration (strict)."""
    options = ["--config-file", "pyproject.toml", "--show-error-codes"]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", *options, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    # The summary proves mypy ran: a missing mypy also exits 1, with no error lines at all.
    summary = done.stdout.strip().splitlines()[-1:] or [""]
    assert re.match(r"(Success: no issues|Found \d+ errors?) ", summary[0]), (
        done.stdout + done.stderr
    )
    return [line for line in done.stdout.splitlines() if ": error:" in line]


def test_a_seed_program_type_checks_under_strict() -> None:
    assert _mypy(SEED_PROGRAM) == []


def test_misuse_of_the_seed_api_is_a_type_error(tmp_path: Path) -> None:
    program = tmp_path / "misuse.py"
    program.write_text(MISUSE, encoding="utf-8")
    errors = _mypy(program)
    reported = {int(m.group(1)) for e in errors if (m := re.search(r"\.py:(\d+): error", e))}
    marked = {n for n, line in enumerate(MISUSE.splitlines(), 1) if line.endswith("# error")}
    assert reported == marked, "\n".join(errors)
