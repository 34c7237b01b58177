"""The README's screenshots of the web UI, taken from the demo school in Debian's chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Seeds a demo school (`homeroom seed --students 400`, password `homeroom`) into a temporary
directory, serves it with `homeroom serve` on a free local port, signs in as a person would
and saves: the teacher's take-attendance page (`teacher-attendance.png`) and the
administrator's dashboard (`admin-dashboard.png`). Needs chromium on the PATH (or
HOMEROOM_TEST_CHROMIUM) and the dev set (playwright); never `playwright install`.
"""

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.async_api import Page, ViewportSize, async_playwright

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "homeroom"  # noqa: S105 (the demo school's documented password)
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("homeroom serve exited before it answered")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2):  # noqa: S310
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SystemExit(f"homeroom serve did not answer within {timeout} s")


async def sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(base + "/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(base + "/home")


async def shoot(base: str, out: Path, chromium: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            teacher = await browser.new_page(viewport=VIEWPORT)
            await sign_in(teacher, base, "teacher1@example.edu")
            await (
                teacher.get_by_role("navigation", name="Main")
                .get_by_role("link", name="Attendance")
                .click()
            )
            # The first section's take-attendance page.
            await teacher.locator("main a[href*='/attendance']").first.click()
            await teacher.wait_for_load_state("networkidle")
            await teacher.screenshot(path=out / "teacher-attendance.png", full_page=False)

            admin = await browser.new_page(viewport=VIEWPORT)
            await sign_in(admin, base, "admin@example.edu")
            await (
                admin.get_by_role("navigation", name="Main")
                .get_by_role("link", name="Dashboard")
                .click()
            )
            await admin.wait_for_load_state("networkidle")
            await admin.screenshot(path=out / "admin-dashboard.png", full_page=False)
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    chromium = os.environ.get("HOMEROOM_TEST_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as var:
        port = free_port()
        env = {
            **os.environ,
            "HOMEROOM_VAR_DIR": var,
            "HOMEROOM_DATABASE_URL": f"sqlite+aiosqlite:///{var}/demo.db",
            "HOMEROOM_PORT": str(port),
            "HOMEROOM_WORKERS": "1",
        }
        homeroom = str(BIN / "homeroom")
        seed = [homeroom, "seed", "--students", "400", "--password", PASSWORD]
        subprocess.run(seed, env=env, check=True, cwd=var, stdout=subprocess.DEVNULL)  # noqa: S603
        proc = subprocess.Popen(  # noqa: S603 (our own command)
            [homeroom, "serve"], env=env, cwd=var, stdout=subprocess.DEVNULL, start_new_session=True
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, proc)
            asyncio.run(shoot(base, args.out, chromium))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"saved {args.out / 'teacher-attendance.png'} and {args.out / 'admin-dashboard.png'}")


if __name__ == "__main__":
    main()
