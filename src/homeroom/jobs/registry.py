"""What a job kind does: one async handler per kind, registered with @handler("kind").

A handler receives a JobContext and returns a JSON summary (or None). To leave a downloadable
file, it writes to `ctx.output(name, media_type)`; the runner stores that file with the job
when the handler returns. A handler that raises fails its job: the error message is kept
and its owner notified. Raise JobFailed for a message meant for the user.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homeroom.config import Settings
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database

Handler = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]

HANDLERS: dict[str, Handler] = {}

# Modules whose import registers handlers (imported by the runner before it runs a job).
HANDLER_MODULES = (
    "homeroom.exports.jobs",
    "homeroom.imports.jobs",
    "homeroom.reports.jobs",
)


class JobFailed(Exception):
    """A failure whose message is shown to the job's owner as is."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


@dataclass
class JobContext:
    db: Database
    settings: Settings
    job_id: int
    kind: str
    params: dict[str, Any]
    # The submitter, as at submission: the job reads through the same row scopes they have.
    owner: Principal
    workdir: Path
    report: Callable[[int], Awaitable[None]]
    output_path: Path | None = None
    output_name: str | None = None
    output_type: str | None = None
    _last_report: float = field(default=0.0, repr=False)

    def output(self, name: str, media_type: str) -> Path:
        """The path to write the job's downloadable file to (named `name` for the user)."""
        self.output_name, self.output_type = name, media_type
        self.output_path = self.workdir / "result"
        return self.output_path

    async def progress(self, percent: float) -> None:
        """Records progress (0-100); at most about twice a second reaches the database."""
        now = time.monotonic()
        if now - self._last_report < 0.5 and percent < 100:
            return
        self._last_report = now
        await self.report(max(0, min(100, int(percent))))
