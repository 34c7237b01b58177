"""Job kinds used only by the tests (also loaded by a separate `homeroom worker` through
HOMEROOM_JOB_MODULES=tests.jobs.handlers)."""

import asyncio
import os
from typing import Any

from homeroom.jobs.registry import JobContext, JobFailed, handler

# test.gate jobs wait here until a test opens the gate (in-process broker only).
GATE = asyncio.Event()


@handler("test.echo")
async def echo(ctx: JobContext) -> dict[str, Any]:
    text = str(ctx.params["text"]) * int(ctx.params.get("repeat", 1))
    await ctx.progress(50)
    path = ctx.output(ctx.params.get("name", "echo.txt"), "text/plain; charset=utf-8")
    path.write_text(text, encoding="utf-8")
    return {"chars": len(text), "owner": ctx.owner.user_id, "role": ctx.owner.role}


@handler("test.crash")
async def crash(ctx: JobContext) -> None:
    raise RuntimeError("boom: secret internals that must not reach the user")


@handler("test.refuse")
async def refuse(ctx: JobContext) -> None:
    raise JobFailed("section 12 has no students")


@handler("test.gate")
async def gate(ctx: JobContext) -> dict[str, Any]:
    await ctx.progress(40)
    await asyncio.wait_for(GATE.wait(), timeout=20)
    return {"opened": True}


@handler("test.where")
async def where(ctx: JobContext) -> dict[str, Any]:
    """Says which process ran it; with `hold_once` (a file path), the first run creates the
    file and then sleeps long enough to be killed mid-job."""
    marker = ctx.params.get("hold_once")
    if marker and not os.path.exists(marker):  # noqa: ASYNC240 (a tiny test file)
        with open(marker, "w") as f:  # noqa: ASYNC230
            f.write(str(os.getpid()))
        await ctx.progress(10)
        await asyncio.sleep(120)
    return {"pid": os.getpid()}
