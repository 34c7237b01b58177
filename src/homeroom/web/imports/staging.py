"""Files waiting between an import's preview and its confirmation.

The preview (a dry run) shows what a file would do; "Import" must then apply that same file
without asking for it again. The file is kept on the server, in `var_dir/web-imports/` (one
directory every worker process of the machine shares, like the application key):

- one file per web session at most: its name is an HMAC of the session's secret (the
  secret itself is never written, and no other session can name it); a new preview replaces
  the session's previous one;
- with a random token the preview page's form carries back: the confirmation applies the
  file only when its token matches (a later preview in another tab makes the older page's
  button refuse instead of importing another file than the one it showed);
- for MAX_AGE_SECONDS at most (stale files are swept at every new preview), at most
  MAX_FILES files and MAX_BYTES in all (a new preview past either is refused, not stored),
  each no larger than the import limit (imports.service.limits.max_bytes);
- taken once: the confirmation removes it, whatever the import's outcome.

The import itself checks every row again in its own transaction (all or nothing): what was
kept is only the bytes, never a verdict about them. A deployment that spreads one person's
requests over several machines needs a shared `var_dir` (or sticky sessions); otherwise the
confirmation finds no file and asks to upload it again.
"""

import asyncio
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MAX_AGE_SECONDS = 15 * 60
MAX_FILES = 32
MAX_BYTES = 256 * 1024 * 1024
DIRECTORY = "web-imports"


class StagingFull(Exception):
    """Too many previews wait to be confirmed on this server: try again in a few minutes."""


@dataclass(frozen=True, slots=True)
class Staged:
    """What a preview showed: the file and how it was read."""

    token: str
    user_id: int
    kind: str
    file_name: str | None
    encoding: str | None
    date_order: str | None
    school_id: int | None


class Staging:
    def __init__(self, root: Path, key: bytes) -> None:
        self.root = root / DIRECTORY
        self.key = key

    def _path(self, session_secret: str) -> Path:
        name = hmac.new(self.key, session_secret.encode(), "sha256").hexdigest()
        return self.root / f"{name}.staged"

    async def keep(self, session_secret: str, staged: Staged, data: bytes) -> None:
        """Keeps `data` for the session, replacing its previous preview."""
        await asyncio.to_thread(self._keep, self._path(session_secret), staged, data)

    async def take(self, session_secret: str, token: str) -> tuple[Staged, bytes] | None:
        """The session's kept file when `token` is its token (and it is still fresh); the
        file is removed either way once its token matched."""
        return await asyncio.to_thread(self._take, self._path(session_secret), token)

    def _keep(self, path: Path, staged: Staged, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        files, size = self._sweep(keep_out=path)
        if files >= MAX_FILES or size + len(data) > MAX_BYTES:
            raise StagingFull
        header = json.dumps(asdict(staged)).encode() + b"\n"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(header)
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _take(self, path: Path, token: str) -> tuple[Staged, bytes] | None:
        try:
            if time.time() - path.stat().st_mtime > MAX_AGE_SECONDS:
                path.unlink(missing_ok=True)
                return None
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        header, _, data = raw.partition(b"\n")
        try:
            fields: dict[str, Any] = json.loads(header)
            staged = Staged(**fields)
        except (ValueError, TypeError):
            path.unlink(missing_ok=True)
            return None
        if not hmac.compare_digest(staged.token, token):
            return None
        path.unlink(missing_ok=True)
        return staged, data

    def _sweep(self, keep_out: Path) -> tuple[int, int]:
        """Removes stale files; the number and size of the fresh ones (but `keep_out`)."""
        now = time.time()
        files = size = 0
        for entry in os.scandir(self.root):
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue
            if now - stat.st_mtime > MAX_AGE_SECONDS:
                Path(entry.path).unlink(missing_ok=True)
            elif entry.path != str(keep_out):
                files += 1
                size += stat.st_size
        return files, size


def new_token() -> str:
    return secrets.token_urlsafe(24)
