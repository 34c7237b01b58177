"""One settings object, read from environment variables prefixed HOMEROOM_."""

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMEROOM_", extra="ignore")

    var_dir: Path = Path("./var")
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    jwt_issuer: str = "homeroom"
    jwt_audience: str = "homeroom-api"
    access_token_ttl_seconds: int = Field(default=900, ge=60)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300)

    # Per-account login backoff: after `login_max_failures` failures inside the window,
    # each further failure doubles the wait, up to `login_max_lockout_seconds`.
    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    login_base_lockout_seconds: int = 30
    login_max_lockout_seconds: int = 900

    db_pool_size: int = 10
    db_statement_timeout_ms: int = 30_000
    sqlite_busy_timeout_ms: int = 5_000

    log_level: str = "info"

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
