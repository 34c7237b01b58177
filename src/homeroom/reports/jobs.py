"""Job handlers of this package (registered with homeroom.jobs.registry.handler).

"report_cards": every student of a section or grade level gets a report card, one PDF each,
in a zip. Students are read in batches (three statements per batch whatever its size),
rendered in the process pool a batch at a time (the next batch is read while one renders);
progress counts the students written.
"""

import asyncio
import zipfile
from typing import Any

from homeroom.jobs.registry import JobContext, JobFailed, handler
from homeroom.kit.cpu import run_cpu
from homeroom.reports import service as report_service
from homeroom.reports.pdf import file_name, render_report_cards

BATCH = 20


def member_name(card: dict[str, Any], taken: set[str]) -> str:
    """`<student number>-<last>-<first>.pdf`, unique within the zip."""
    student = card["student"]
    base = file_name(student["student_number"], student["last_name"], student["first_name"])
    name, n = f"{base}.pdf", 1
    while name in taken:
        n += 1
        name = f"{base}-{n}.pdf"
    taken.add(name)
    return name


@handler(report_service.JOB_KIND)
async def make_report_cards(ctx: JobContext) -> dict[str, Any]:
    target = await report_service.resolve_target(ctx.db, ctx.owner, ctx.params)
    if target is None:
        what = "section" if ctx.params.get("section_id") is not None else "term"
        raise JobFailed(f"the {what} no longer exists or is no longer visible to you")
    students = await report_service.roster(ctx.db, ctx.owner, target)
    if not students:
        raise JobFailed(
            f"no students to report on: {target.label} has no enrolled students "
            f"in {target.term['name']}"
        )
    path = ctx.output(
        f"report-cards-{file_name(target.term['name'], target.label)}.zip", "application/zip"
    )
    taken: set[str] = set()
    written = 0

    async def write(cards: list[dict[str, Any]], rendering: asyncio.Future[list[bytes]]) -> None:
        nonlocal written
        for card, pdf in zip(cards, await rendering, strict=True):
            archive.writestr(member_name(card, taken), pdf)
            written += 1
            await ctx.progress(100.0 * written / len(students))

    # PDFs are compressed already: stored, not deflated again.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        # Pipelined: while the pool renders one batch, the next batch's rows are read.
        previous: tuple[list[dict[str, Any]], asyncio.Future[list[bytes]]] | None = None
        try:
            for start in range(0, len(students), BATCH):
                batch = students[start : start + BATCH]
                cards = await report_service.report_cards(ctx.db, ctx.owner, target, batch)
                if previous is not None:
                    await write(*previous)
                previous = (cards, asyncio.ensure_future(run_cpu(render_report_cards, cards)))
            assert previous is not None
            await write(*previous)
        finally:
            if previous is not None:
                _, rendering = previous
                rendering.cancel()  # (no-op once it is done)
    return {
        "students": len(students),
        "term_id": target.term["id"],
        "target": target.label,
    }
