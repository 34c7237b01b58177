"""Settings come from HOMEROOM_ environment variables and from a .env file in the working
directory; the environment wins."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from homeroom.config import Settings

HOMEROOM = Path(sys.executable).with_name("homeroom")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("HOMEROOM_PORT", "HOMEROOM_LOG_LEVEL", "HOMEROOM_ACCESS_TOKEN_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


class TestDotEnv:
    def test_a_dotenv_file_in_the_working_directory_is_read(self, workdir: Path) -> None:
        (workdir / ".env").write_text(
            "# a comment\nHOMEROOM_PORT=9123\nHOMEROOM_LOG_LEVEL=debug\nOTHER_TOOL=x\n"
        )
        settings = Settings()
        assert (settings.port, settings.log_level) == (9123, "debug")

    def test_the_environment_wins_over_the_file(
        self, workdir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (workdir / ".env").write_text("HOMEROOM_PORT=9123\nHOMEROOM_LOG_LEVEL=debug\n")
        monkeypatch.setenv("HOMEROOM_PORT", "9200")
        settings = Settings()
        assert (settings.port, settings.log_level) == (9200, "debug")

    def test_without_a_file_the_defaults_hold(self, workdir: Path) -> None:
        assert Settings().port == 8000

    def test_a_bad_value_in_the_file_is_refused(self, workdir: Path) -> None:
        (workdir / ".env").write_text("HOMEROOM_ACCESS_TOKEN_TTL_SECONDS=5\n")
        with pytest.raises(ValueError, match="access_token_ttl_seconds"):
            Settings()

    def test_the_command_reads_it(self, workdir: Path) -> None:
        database = workdir / "from-dotenv.db"
        (workdir / ".env").write_text(
            f"HOMEROOM_DATABASE_URL=sqlite+aiosqlite:///{database}\nHOMEROOM_VAR_DIR={workdir}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
        result = subprocess.run(
            [str(HOMEROOM), "migrate"],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert database.stat().st_size > 0
