"""The `homeroom` command: serve, worker, migrate, seed, create-user, loadtest."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from homeroom.config import get_settings
from homeroom.loadtest.scenarios import ScenarioName
from homeroom.models import ROLES

app = typer.Typer(help="Homeroom school management system.", no_args_is_help=True)


SERVERS = ("granian", "uvicorn")
# granian by measurement (2026-11-22, 2-core AMD EPYC shared with other jobs, 2 workers,
# wrk c64 10 s, district SQLite, 6 alternating rounds, medians): GET /healthz 9,500 req/s on
# granian vs 7,400 on uvicorn (uvloop + httptools); GET /api/v1/students/{id} 5,900 vs 4,100,
# p99 27-54 ms vs 44-91 ms. granian won 11 of the 12 pairs. --server uvicorn stays available.
DEFAULT_SERVER = "granian"


def workers_ignore_ctrl_c_while_starting() -> None:
    """Worker processes start with Ctrl-C ignored, until their server installs its own
    handlers (both servers do, once the worker runs). A terminal's Ctrl-C reaches every
    process of the foreground group: a worker still importing the application would die of
    KeyboardInterrupt with a traceback. Ignored, it goes on; the supervisor, which got the
    Ctrl-C too, stops it with SIGTERM. A signal ignored at exec stays ignored in the new
    interpreter, so SIGINT is ignored here only while a worker is launched."""
    import signal
    from multiprocessing.process import BaseProcess

    launch = BaseProcess.start

    def start(process: BaseProcess) -> None:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            launch(process)
        finally:
            signal.signal(signal.SIGINT, previous)

    type.__setattr__(BaseProcess, "start", start)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (HOMEROOM_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HOMEROOM_PORT)")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (HOMEROOM_WORKERS; default: one per core)"),
    ] = None,
    server: Annotated[
        str, typer.Option(help=f"HTTP server: {' or '.join(SERVERS)} (HOMEROOM_SERVER)")
    ] = "",
) -> None:
    """Serve the API (and run pending migrations first)."""
    import os

    from homeroom.kit.metrics import prepare_multiprocess
    from homeroom.kit.migrate import upgrade
    from homeroom.seed.runner import demo_school_present
    from homeroom.welcome import announce_when_up, base_url, where_to_go

    settings = get_settings()
    server = server or os.environ.get("HOMEROOM_SERVER", DEFAULT_SERVER)
    if server not in SERVERS:
        typer.echo(f"error: --server must be one of {', '.join(SERVERS)}", err=True)
        raise typer.Exit(2)
    count = workers or settings.effective_workers
    # Each worker process reads its settings from the environment: pass it the worker count
    # so it sizes its database pools for its share (Settings.pool_sizes).
    os.environ["HOMEROOM_WORKERS"] = str(count)
    upgrade(settings)
    settings.jwt_secret()  # create the key once, before workers race for it
    prepare_multiprocess(settings.var_dir / "metrics", count)
    address = host or settings.host
    bind_port = port or settings.port
    base = base_url(address, bind_port)
    demo_school = asyncio.run(demo_school_present(settings))
    announce_when_up(base, where_to_go(base, demo_school), typer.echo)
    workers_ignore_ctrl_c_while_starting()
    if server == "granian":
        import multiprocessing

        from granian import Granian
        from granian.constants import HTTPModes, Interfaces, Loops

        # Fresh worker interpreters, as uvicorn's: a forked worker would inherit this
        # process's imported state (prometheus_client picks its multiprocess value class at
        # import, so forked workers' metrics never reached PROMETHEUS_MULTIPROC_DIR).
        multiprocessing.set_start_method("spawn", force=True)
        Granian(
            "homeroom.asgi:app",
            address=address,
            port=bind_port,
            interface=Interfaces.ASGI,
            workers=count,
            loop=Loops.uvloop,
            http=HTTPModes.http1,
            log_access=False,
            respawn_failed_workers=True,  # as uvicorn's supervisor does
            workers_kill_timeout=10,  # a worker stuck at shutdown is killed, not waited for
        ).serve()
        return

    import uvicorn

    uvicorn.run(
        "homeroom.asgi:app",
        host=address,
        port=bind_port,
        workers=count,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Bring the database schema up to date."""
    from homeroom.kit.migrate import upgrade

    upgrade(get_settings(), revision)
    typer.echo("database is up to date")


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once (HOMEROOM_JOB_CONCURRENCY; default 2)"),
    ] = None,
) -> None:
    """Run background jobs (exports, imports, report cards) from HOMEROOM_BROKER_URL."""
    from homeroom.jobs.worker import work
    from homeroom.kit.migrate import upgrade

    settings = get_settings()
    if not settings.broker_url:
        typer.echo(
            "error: HOMEROOM_BROKER_URL is not set. Without a broker, jobs run inside "
            "`homeroom serve` itself; set HOMEROOM_BROKER_URL=redis://... or amqp://... "
            "(the same value for serve and worker) to run them in separate workers.",
            err=True,
        )
        raise typer.Exit(2)
    if concurrency is not None:
        settings.job_concurrency = concurrency
    upgrade(settings)
    typer.echo(f"homeroom worker: running jobs, {settings.job_concurrency} at a time")
    asyncio.run(work(settings))


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Login e-mail")],
    password: Annotated[str, typer.Option(help="Password (at least 8 characters)")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}")],
    school: Annotated[
        str | None, typer.Option(help="School code; leave out for an admin of all schools")
    ] = None,
    full_name: Annotated[str, typer.Option(help="Display name")] = "",
) -> None:
    """Create a login (an admin, a registrar, ...)."""
    from homeroom.users.commands import create_user_command

    try:
        asyncio.run(create_user_command(get_settings(), email, password, role, school, full_name))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created {role} {email.lower()}")


@app.command("create-school")
def create_school(
    code: Annotated[str, typer.Option(help="Short unique code, e.g. 'north-high'")],
    name: Annotated[str, typer.Option(help="The school's name")],
) -> None:
    """Add a school to the installation."""
    from homeroom.schools.commands import create_school_command

    try:
        school_id = asyncio.run(create_school_command(get_settings(), code, name))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created school {code} (id {school_id})")


@app.command()
def seed(
    students: Annotated[int, typer.Option(min=1, help="How many students")] = 2000,
    password: Annotated[str, typer.Option(help="Password of every demo login")] = "homeroom",  # noqa: S107
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed (deterministic)")] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database has data")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar")] = False,
) -> None:
    """Create demo data: a school with students, teachers, courses, grades and attendance."""
    from homeroom.seed.runner import SeedRefused, run_seed

    settings = get_settings()
    try:
        result = asyncio.run(
            run_seed(settings, students, password, seed_value, if_empty=if_empty, quiet=quiet)
        )
    except SeedRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(result)


@app.command()
def loadtest(
    host: Annotated[
        str, typer.Option(help="Base URL of a running Homeroom (loopback only)")
    ] = "http://127.0.0.1:8000",
    scenario: Annotated[
        ScenarioName,
        typer.Option(
            help="baseline: 50 users steady; stress: ramps to 300; soak: 50 users, up to 30 min; "
            "spike: a tenth of the users, then all of them for 20 s; journeys: the competing "
            "LMS's journeys, 64 users, closed loop",
        ),
    ] = "baseline",
    users: Annotated[
        int | None, typer.Option(min=1, max=2000, help="Peak virtual users (scenario's default)")
    ] = None,
    spawn_rate: Annotated[
        float | None, typer.Option(min=0.1, max=1000, help="Users started per second")
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(min=1, help="Seconds to run (default per scenario; capped per scenario)"),
    ] = None,
    think_time: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=60,
            help="Mean seconds between a user's requests; 0 = closed loop (default: 1, journeys 0)",
        ),
    ] = None,
    password: Annotated[str, typer.Option(help="Password of the seeded logins")] = "homeroom",  # noqa: S107
    sla: Annotated[
        Path | None, typer.Option(help="TOML or JSON thresholds: p95_ms, p99_ms, error_rate")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report directory (default ./var/loadtest/<time>)")
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a host that is not loopback")
    ] = False,
) -> None:
    """Drive a running Homeroom with the school-day mix; report, and exit 1 if an SLA fails."""
    from homeroom.loadtest.runner import LoadTestError, Options, run
    from homeroom.loadtest.sla import SLAFileError

    options = Options(
        host=host,
        scenario=scenario,
        users=users,
        spawn_rate=spawn_rate,
        duration=duration,
        think_time=think_time,
        password=password,
        sla_path=sla,
        out=out,
        allow_remote=allow_remote,
    )
    try:
        code = run(options, typer.echo)
    except (LoadTestError, SLAFileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)
