"""`homeroom seed`: migrate, check the database is empty, write the demo school, report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from homeroom.config import Settings
from homeroom.kit.migrate import upgrade
from homeroom.kit.security import hash_password_async
from homeroom.seed.plan import SCHOOL_CODE, DemoPlan, Logins, Table
from homeroom.seed.repository import DatabaseNotEmpty, OnRows, target_for


class SeedRefused(Exception):
    """The seed would mix demo rows into existing data, or was asked for nonsense."""


async def run_seed(
    settings: Settings,
    students: int,
    password: str,
    seed_value: int,
    *,
    if_empty: bool,
    quiet: bool,
    today: date | None = None,
) -> str:
    """Seed the demo school and return the report to print (logins and row counts)."""
    if students < 1:
        raise SeedRefused("--students must be at least 1")
    if not password:
        raise SeedRefused("--password must not be empty")
    started = time.perf_counter()
    # Alembic's env.py runs its own event loop: give it a thread.
    await asyncio.to_thread(upgrade, settings)
    target = target_for(settings)
    found = await target.existing()
    if found is not None:
        if if_empty:
            return _already_there(found)
        raise SeedRefused(_refusal(found))

    plan = DemoPlan(students, seed_value, today or date.today())
    # Demo data only: ONE argon2 hash of the password, shared by every demo login.
    password_hash = await hash_password_async(password)
    tables = list(plan.tables(target.codec, password_hash))
    with _progress(sum(t.count for t in tables), quiet) as on_rows:
        try:
            await target.load(tables, on_rows)
        except DatabaseNotEmpty as exc:  # another process seeded meanwhile
            raise SeedRefused(_refusal(exc)) from None
    return _report(plan, tables, password, time.perf_counter() - started)


def _refusal(found: DatabaseNotEmpty) -> str:
    return (
        f"the database already has data ({', '.join(found.tables)}); the demo seed only "
        "writes into an empty database. Point HOMEROOM_DATABASE_URL at a new database, "
        "or pass --if-empty to skip seeding when data exists."
    )


def _already_there(found: DatabaseNotEmpty) -> str:
    if found.school == SCHOOL_CODE:
        logins = Logins()
        return (
            "Demo data already present (school 'demo'); nothing seeded. Demo logins: "
            f"{logins.admin}, {logins.registrar}, {logins.teacher}, {logins.student}, "
            f"{logins.guardian} (with the password given when it was seeded)."
        )
    return f"The database already has data ({', '.join(found.tables)}); nothing seeded."


@contextmanager
def _progress(total: int, quiet: bool) -> Iterator[OnRows]:
    if quiet:
        yield lambda table, rows: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("seeding {task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        task = progress.add_task("", total=total)

        def on_rows(table: str, rows: int) -> None:
            progress.update(task, advance=rows, description=table)

        yield on_rows
        progress.update(task, description="done")


def _report(plan: DemoPlan, tables: list[Table], password: str, seconds: float) -> str:
    counts = {t.name: t.count for t in tables}
    logins = plan.logins
    shown = (
        ("students", "students"),
        ("teachers", "teachers"),
        ("guardians", "guardians"),
        ("users", "user logins"),
        ("courses", "courses"),
        ("sections", "sections"),
        ("enrollments", "enrollments"),
        ("assessments", "assessments"),
        ("grades", "grades"),
        ("attendance_sessions", "attendance sessions"),
        ("attendance_records", "attendance records"),
    )
    lines = [
        f"Seeded {plan.school_name} (school code {SCHOOL_CODE!r}) in {seconds:.1f} s:",
        *(f"  {counts[name]:>11,}  {label}" for name, label in shown),
        f"  terms: {', '.join(t.name for t in plan.terms)} (current: {plan.term.name}); "
        f"attendance for the last {len(plan.school_days)} school days",
        f"Demo logins (password: {password}):",
        *login_lines(logins),
    ]
    return "\n".join(lines)


def login_lines(logins: Logins) -> list[str]:
    """The demo logins, one role a line: the seed's report and serve's welcome show them."""
    shown = (
        ("admin", logins.admin),
        ("registrar", logins.registrar),
        ("teacher", logins.teacher),
        ("student", logins.student),
        ("guardian", logins.guardian),
    )
    return [f"  {role:<10} {login}" for role, login in shown]


async def demo_school_present(settings: Settings) -> bool:
    """Whether the database holds the demo school (so its logins work)."""
    found = await target_for(settings).existing()
    return found is not None and found.school == SCHOOL_CODE
