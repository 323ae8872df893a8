"""commands/runner.py and containment.py with real processes: output, stdin, limits, and the
whole process tree stopped on cancel and timeout (a double-forked, setsid grandchild too)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kizuna_server.commands.containment import (
    CgroupContainment,
    Containment,
    SubreaperContainment,
)
from kizuna_server.commands.runner import CommandFailed, Ending, Outcome, Run, environment

pytestmark = pytest.mark.asyncio

#: A program that double-forks a grandchild which calls setsid, writes its PID to a file, and
#: sleeps; then the program itself sleeps (or exits at once with `exit`).
DOUBLE_FORK = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(sys.argv[1] + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        time.sleep(600)
    os._exit(0)
os.wait()
while not os.path.exists(sys.argv[1]):  # the grandchild is on its own now: wait for its pid
    time.sleep(0.01)
if sys.argv[2] == "sleep":
    print("ready", flush=True)
    time.sleep(600)
"""


def containments() -> Iterator[str]:
    yield "subreaper"
    if CgroupContainment.here() is not None:
        yield "cgroup"


@pytest.fixture(params=list(containments()))
def containment(request: pytest.FixtureRequest) -> Containment:
    if request.param == "cgroup":
        found = CgroupContainment.here()
        assert found is not None
        return found
    return SubreaperContainment()


class Collected:
    def __init__(self) -> None:
        self.out = bytearray()
        self.err = bytearray()
        self.line = asyncio.Event()

    async def __call__(self, name: str, chunk: bytes) -> None:
        (self.out if name == "stdout" else self.err).extend(chunk)
        if b"\n" in self.out:
            self.line.set()


def run_of(
    containment: Containment,
    argv: list[str],
    collected: Collected,
    *,
    timeout: float = 30,
    cap: int = 1 << 20,
    tmp: Path | None = None,
) -> Run:
    run_id = os.urandom(8).hex()
    return Run(
        argv,
        command="test",
        cwd=tmp or Path.cwd(),
        env=environment({"EXTRA": "yes"}, {"KIZUNA_RUN_ID": run_id}),
        timeout=timeout,
        output_cap=cap,
        on_output=collected,
        group=containment.group(run_id),
    )


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def finished(run: Run) -> Outcome:
    await run.start()
    return await run.wait()


async def test_exit_code_output_and_environment(containment: Containment) -> None:
    collected = Collected()
    script = (
        "import os,sys; print(os.environ['EXTRA'], sys.argv[1]); sys.stderr.write('e'); sys.exit(3)"
    )
    outcome = await finished(
        run_of(containment, [sys.executable, "-c", script, "$(id); rm -rf ~"], collected)
    )
    assert (outcome.ending, outcome.exit_code) == (Ending.EXITED, 3)
    assert bytes(collected.out) == b"yes $(id); rm -rf ~\n"
    assert bytes(collected.err) == b"e"
    assert (outcome.stdout_bytes, outcome.stderr_bytes) == (len(collected.out), 1)
    assert not outcome.truncated


async def test_the_environment_is_small_and_fixed() -> None:
    env = environment({"MINE": "1"}, {"KIZUNA_RUN_ID": "r"}, {"PATH": "/p", "SECRET": "x"})
    assert env == {"PATH": "/p", "KIZUNA_RUN_ID": "r", "MINE": "1"}


async def test_stdin_reaches_the_program(containment: Containment) -> None:
    collected = Collected()
    run = run_of(
        containment, [sys.executable, "-c", "import sys; print(sys.stdin.read()[::-1])"], collected
    )
    await run.start()
    await run.write_stdin(b"abc")
    await run.write_stdin(b"def")
    await run.close_stdin()
    outcome = await run.wait()
    assert outcome.exit_code == 0
    assert bytes(collected.out) == b"fedcba\n"


async def test_a_missing_program_fails_to_start(containment: Containment) -> None:
    with pytest.raises(CommandFailed, match="could not start"):
        await run_of(containment, ["/nonexistent/program"], Collected()).start()


async def test_an_output_flood_is_capped_and_counted(containment: Containment) -> None:
    collected = Collected()
    script = "import sys; sys.stdout.buffer.write(b'x' * (64 << 20))"
    outcome = await finished(
        run_of(containment, [sys.executable, "-c", script], collected, cap=1000)
    )
    assert outcome.exit_code == 0
    assert len(collected.out) == 1000 and outcome.truncated
    assert outcome.stdout_bytes == 64 << 20


async def test_a_slow_reader_holds_the_program_back(containment: Containment) -> None:
    """on_output waiting means the program waits on its pipe: nothing piles up in between."""
    gate, first = asyncio.Event(), asyncio.Event()
    taken: list[int] = []

    async def slow(name: str, chunk: bytes) -> None:
        taken.append(len(chunk))
        first.set()
        await gate.wait()

    script = "import sys\nfor _ in range(64): sys.stdout.buffer.write(b'y' * (1 << 20))"
    run = run_of(containment, [sys.executable, "-c", script], Collected(), cap=1 << 30)
    run._on_output = slow
    await run.start()
    waiting = asyncio.ensure_future(run.wait())
    await asyncio.wait_for(first.wait(), 30)
    assert alive(run.pid), "the program ran to the end while its output was not taken"
    assert sum(taken) <= 2 << 20
    gate.set()
    outcome = await waiting
    assert outcome.exit_code == 0 and outcome.stdout_bytes == 64 << 20


@pytest.mark.parametrize("how", ["cancel", "timeout"])
async def test_cancel_and_timeout_stop_the_whole_tree(
    containment: Containment, tmp_path: Path, how: str
) -> None:
    collected = Collected()
    pid_file = tmp_path / "grandchild"
    run = run_of(
        containment,
        [sys.executable, "-c", DOUBLE_FORK, str(pid_file), "sleep"],
        collected,
        timeout=2 if how == "timeout" else 60,
    )
    await run.start()
    waiting = asyncio.ensure_future(run.wait())
    await asyncio.wait_for(collected.line.wait(), 30)
    grandchild = int(pid_file.read_text())
    assert alive(grandchild)
    if how == "cancel":
        run.cancel()
    outcome = await asyncio.wait_for(waiting, 30)
    assert outcome.ending is (Ending.CANCELLED if how == "cancel" else Ending.TIMED_OUT)
    assert outcome.exit_code < 0  # ended by a signal
    assert not alive(grandchild)


async def test_what_an_exited_program_left_running_is_stopped(
    containment: Containment, tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild"
    outcome = await asyncio.wait_for(
        finished(
            run_of(
                containment, [sys.executable, "-c", DOUBLE_FORK, str(pid_file), "exit"], Collected()
            )
        ),
        30,
    )
    assert (outcome.ending, outcome.exit_code) == (Ending.EXITED, 0)
    assert not alive(int(pid_file.read_text()))


async def test_the_cgroup_is_removed_after_the_run(tmp_path: Path) -> None:
    found = CgroupContainment.here()
    if found is None:
        pytest.skip("no writable cgroup v2 here: the subreaper runs instead")
    before = set(found.base.glob("kizuna-run-*"))
    await finished(run_of(found, [sys.executable, "-c", "pass"], Collected()))
    assert set(found.base.glob("kizuna-run-*")) == before
