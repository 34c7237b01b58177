"""The CPU pool's processes never outlive the process that started them."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

POOL_USER = """
import asyncio, os, time
from homeroom.kit import cpu

async def main() -> None:
    print(await cpu.run_cpu(os.getpid), flush=True)
    time.sleep(120)

asyncio.run(main())
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_pool_process_ends_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", POOL_USER],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the killed parent's resource tracker reports its leak
        text=True,
    )
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert child != parent.pid and _running(child)
        os.kill(parent.pid, signal.SIGKILL)  # no shutdown, no atexit: nothing tells the pool
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _running(child):
            assert time.monotonic() < deadline, "the pool process outlived its parent"
            time.sleep(0.1)
    finally:
        parent.kill()
        if child and _running(child):
            os.kill(child, signal.SIGKILL)


def _sigint_blocked() -> bool:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


async def test_pool_processes_start_with_ctrl_c_blocked() -> None:
    """A Ctrl-C reaching a pool process while it still imports would kill it with a
    traceback: it starts with SIGINT blocked, and the caller's own mask is left as it was."""
    from homeroom.kit import cpu

    try:
        assert await cpu.run_cpu(_sigint_blocked) is True
        assert not _sigint_blocked()
    finally:
        cpu.shutdown()
