"""One settings object, read from environment variables prefixed HOMEROOM_ and from a `.env`
file in the working directory (the environment wins)."""

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMEROOM_", env_file=".env", extra="ignore")

    var_dir: Path = Path("./var")
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    # The reverse proxies (addresses or networks, comma-separated; "*" for any) whose
    # X-Forwarded-Proto and X-Forwarded-For are believed: behind one that ends TLS, pages
    # then know they were served over HTTPS (Secure cookies) and sign-in throttling sees the
    # person's address. Empty (the default): no forwarded header is believed.
    forwarded_allow_ips: str = ""
    # API worker processes; None = one per core. `homeroom serve` exports the count it uses
    # to its workers, which size their database pools from it (see pool_sizes).
    workers: int | None = Field(default=None, ge=1)

    jwt_issuer: str = "homeroom"
    jwt_audience: str = "homeroom-api"
    access_token_ttl_seconds: int = Field(default=900, ge=60)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300)
    # A web UI session lasts a school day from its sign-in, however active.
    web_session_ttl_seconds: int = Field(default=12 * 3600, ge=300)

    # Per-account login backoff: after `login_max_failures` failures inside the window,
    # each further failure doubles the wait, up to `login_max_lockout_seconds`.
    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    login_base_lockout_seconds: int = 30
    login_max_lockout_seconds: int = 900

    # PostgreSQL connections: all worker processes of one host together stay within
    # db_max_connections (PostgreSQL's default max_connections is 100; keep room for migrations,
    # psql and monitoring). db_pool_size is each process's raw reader pool; 0 = derive it.
    db_max_connections: int = Field(default=80, ge=3)
    db_pool_size: int = Field(default=0, ge=0)
    db_statement_timeout_ms: int = 30_000
    # How long a write waits for a row or table lock another transaction holds before it gives
    # up (503 + Retry-After) instead of holding its connection up to the statement timeout;
    # 0 = wait up to the statement timeout. PostgreSQL only (SQLite: sqlite_busy_timeout_ms).
    db_lock_timeout_ms: int = Field(default=5_000, ge=0)
    sqlite_busy_timeout_ms: int = 5_000
    # How long a write waits for its process's write connection (SQLite: the only one) or a
    # free pooled connection (PostgreSQL) before the request answers 503.
    db_pool_timeout_seconds: float = Field(default=30.0, gt=0)

    # Request bodies (kit/guards.LimitBody): the largest any route but the imports reads (they
    # take HOMEROOM_IMPORT_MAX_BYTES), and the seconds a body may take before it must arrive
    # at 16 KB/s on average (else 408).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    body_grace_seconds: float = Field(default=10.0, gt=0)
    # Every JSON answer checked against its route's response_model before it is sent
    # (kit/response_check.py; a mismatch raises). The test suite turns it on; it costs a
    # validation per answer, so it is off by default.
    check_responses: bool = False

    # Response cache (kit/cache.py): entry lifetime, and the entries each process keeps in
    # memory (in front of Redis when redis_url is set).
    cache_ttl_seconds: int = Field(default=600, ge=1)
    cache_local_entries: int = Field(default=4096, ge=16)
    # Whole exports kept per process (kit/cache.LargeBodies): total and per-body bounds.
    cache_large_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    cache_large_entry_bytes: int = Field(default=8 * 1024 * 1024, ge=0)
    # Exports and dashboards built at once per process; more wait their turn.
    export_concurrency: int = Field(default=2, ge=1, le=64)

    # Background jobs (jobs/): no broker_url = the in-process broker, jobs run inside each API
    # process; redis://... or amqp://... = jobs go to that broker and `homeroom worker`
    # processes run them. Results can be downloaded for job_result_ttl_seconds.
    broker_url: str | None = None
    job_result_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    # A running job whose heartbeat is older than this was abandoned (its process died): it is
    # queued again, up to job_max_attempts runs in all, then failed.
    job_stale_seconds: int = Field(default=120, ge=5)
    job_max_attempts: int = Field(default=3, ge=1)
    # How many jobs one process runs at once, and how often it looks for queued jobs nobody
    # picked up (a broker that was down when they were sent, a restart).
    job_concurrency: int = Field(default=2, ge=1)
    job_sweep_seconds: float = Field(default=30.0, gt=0)
    # Extra modules whose import registers job handlers (a site's own job kinds), comma-separated.
    job_modules: str = ""

    # Idempotency-Key (kit/idempotency.py): how long a creating request's answer is kept and
    # replayed to a retry with the same key.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=1)

    log_level: str = "info"

    @model_validator(mode="after")
    def _derive_pool_size(self) -> "Settings":
        if self.db_pool_size == 0:
            self.db_pool_size = self.pool_sizes()[0]
        return self

    @property
    def effective_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def pool_sizes(self) -> tuple[int, int, int]:
        """(reader pool, writer pool, export pool) for ONE worker process, all kept open.

        Each process gets an equal share of db_max_connections: share = max(3, M // workers).
        Reads dominate, so the raw reader pool takes half the share, capped at 10 (beyond ~10
        connections per process on 2 cores throughput stops rising and latency grows); the
        exports' pool export_concurrency; the ORM writer pool the rest, capped at 8. No
        overflow: a connection opened for a burst and closed after it cost PostgreSQL a new
        backend and asyncpg its type introspection each time (seen under the school-day mix).
        An explicit db_pool_size sets the reader pool.
        2 workers, M=80: 10 + 8 + 2 per process = 40 in all; 8 workers: 5 + 3 + 2 = 80.
        """
        share = max(3, self.db_max_connections // self.effective_workers)
        reader = self.db_pool_size or min(10, max(1, share // 2))
        heavy = min(self.export_concurrency, max(1, share - reader - 1))
        writer = max(1, min(8, share - reader - heavy))
        return reader, writer, heavy

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'homeroom.db').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def jwt_secret(self) -> str:
        """The signing key: HOMEROOM_SECRET_KEY, else one generated once and kept under var/."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if not path.exists():
            # Write a temporary file, then link it into place: link fails if another
            # process won the race, and nobody ever reads a half-written key.
            self.var_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".secret_key.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
