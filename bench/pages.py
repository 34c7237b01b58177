"""The web UI's pages on the district dataset: each role's pages, server time per page.

    .venv/bin/python bench/pages.py [--backend sqlite|postgresql|both] [--calls 50]
                                    [--source bench/out/students-50000.db]
                                    [--pg-url postgresql+asyncpg://...] [--record]

Like `analytics.py`, everything runs in this process through the whole application (lifespan,
middleware, session cookie, templates), called as ASGI by one client: a request is one
`await app(scope, receive, send)`, timed from the call to the last body byte, so a figure is
the server's own time for the page (no HTTP client, no socket). The browser signs in once per
role through the sign-in form, as a person would (CSRF token, cookies).

Pages: every link of each role's main navigation (admin, teacher1, student1, guardian1), the
first of each kind of detail page those pages link to (a section's roster, attendance and
gradebook, a student's page, a search), and each page again with its ETag (the 304 a browser
gets when nothing changed). Then once the take-attendance form is saved and the page read
again: the save's time, and a check that the page shows the new state (never stale).
Target (issue 10): every page < 50 ms of server time (median and p95).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import analytics
import district

sys.path.insert(0, str(analytics.ROOT / "src"))

from homeroom.app import create_app
from homeroom.config import Settings
from homeroom.kit.migrate import upgrade

TARGET_SECONDS = 0.050
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/homeroom_bench"
MAX_CALLS = 1000
NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)
HREF = re.compile(r'<a [^>]*href="(/[^"]*)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRF-Token": "([^"]+)"')
# Detail pages worth timing, by the first link of each shape found on the role's pages.
DETAILS = (
    re.compile(r"^/sections/\d+$"),
    re.compile(r"^/sections/\d+/attendance"),
    re.compile(r"^/sections/\d+/gradebook$"),
    re.compile(r"^/students/\d+$"),
)
ROLES = {
    "admin": "admin@example.edu",
    "teacher": "teacher1@example.edu",
    "student": "student1@example.edu",
    "guardian": "guardian1@example.edu",
}

log = analytics.log


class Browser:
    """One person's cookies and requests into the ASGI app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    async def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str, float]:
        raw_path, _, query = path.partition("?")
        body = urlencode(form).encode() if form is not None else b""
        sent_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        if self.cookies:
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            sent_headers.append((b"cookie", cookie.encode()))
        if form is not None:
            sent_headers.append((b"content-type", b"application/x-www-form-urlencoded"))
            sent_headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": sent_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        status = 0
        answer: dict[str, str] = {}
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    key, text = name.decode().lower(), value.decode("latin-1")
                    if key == "set-cookie":
                        self._keep(text)
                    answer[key] = text
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        started = time.perf_counter()
        await self.app(scope, receive, send)
        seconds = time.perf_counter() - started
        return status, answer, b"".join(chunks).decode("utf-8", "replace"), seconds

    def _keep(self, header: str) -> None:
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            if morsel["max-age"] == "0" or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    async def page(self, path: str) -> tuple[str, float]:
        status, _, text, seconds = await self.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {text[:300]!r}")
        return text, seconds

    async def sign_in(self, email: str) -> None:
        status, _, text, _ = await self.request("GET", "/")
        form = {"csrf_token": csrf_of(text), "email": email, "password": analytics.PASSWORD}
        status, headers, text, _ = await self.request("POST", "/", form)
        if status != 303 or headers.get("location") != "/home":
            raise SystemExit(f"sign-in as {email}: {status} {text[:300]!r}")


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise SystemExit("the page has no CSRF token")
    return match[1] or match[2]


def links_of(html: str) -> list[str]:
    return HREF.findall(html)


async def pages_of(browser: Browser) -> list[str]:
    """The role's navigation and the first detail page of each shape its pages link to."""
    home, _ = await browser.page("/home")
    nav_match = NAV.search(home)
    nav = [h for h in links_of(nav_match[1] if nav_match else "") if h != "/sign-out"]
    found: list[str] = []
    for path in nav:
        html, _ = await browser.page(path)
        for href in links_of(html):
            href = href.replace("&amp;", "&")
            for shape in DETAILS:
                if shape.match(href) and not any(shape.match(f) for f in found):
                    found.append(href)
    return nav + found


async def timed(calls: int, one: Callable[[], Awaitable[float]]) -> dict[str, float]:
    for _ in range(min(3, calls)):  # warm-up: compiled queries, templates, page cache
        await one()
    samples = sorted([await one() for _ in range(calls)])
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {"median": statistics.median(samples), "p95": p95, "n": len(samples)}


async def measure_role(browser: Browser, role: str, calls: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for path in await pages_of(browser):

        async def get(path: str = path) -> float:
            return (await browser.page(path))[1]

        out[f"{role} {path}"] = await timed(calls, get)
        _status, headers, _, _ = await browser.request("GET", path)
        etag = headers.get("etag")
        if etag:

            async def revalidate(path: str = path, etag: str = etag) -> float:
                status, _, _, seconds = await browser.request(
                    "GET", path, headers={"if-none-match": etag}
                )
                if status != 304:
                    raise SystemExit(f"GET {path} with its ETag: {status}, not 304")
                return seconds

            out[f"{role} {path} (304)"] = await timed(calls, revalidate)
    return out


def attendance_form(html: str) -> tuple[str, dict[str, str]]:
    """The take-attendance form's action and its fields as the page fills them."""
    for match in re.finditer(r'<form([^>]*)method="post"([^>]*)>(.*?)</form>', html, re.S):
        attrs, body = match[1] + match[2], match[3]
        if "status" not in body:
            continue
        action = re.search(r'action="([^"]+)"', attrs)
        fields: dict[str, str] = {}
        for tag in re.findall(r"<(?:input|select)[^>]*>", body):
            name = re.search(r'name="([^"]+)"', tag)
            if name is None:
                continue
            value = re.search(r'value="([^"]*)"', tag)
            if 'type="radio"' in tag and "checked" not in tag:
                continue
            fields.setdefault(name[1], value[1] if value else "")
        for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
            chosen = re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', select[2])
            first = re.search(r'<option[^>]*value="([^"]*)"', select[2])
            pick = chosen or first
            if pick:
                fields[select[1]] = pick[1]
        if action:
            return action[1].replace("&amp;", "&"), fields
    raise SystemExit("no take-attendance form on the page")


async def attendance_save(browser: Browser, path: str, rounds: int) -> dict[str, float]:
    """Saves the take-attendance form (one student's status toggled each round) and reads the
    page again: the save's time, the read's time, and the read shows the new status."""
    saves, reads = [], []
    for i in range(rounds):
        html, _ = await browser.page(path)
        action, fields = attendance_form(html)
        statuses = [k for k in fields if k.startswith("status")]
        if not statuses:
            raise SystemExit(f"{path}: no status field in the attendance form")
        first = statuses[0]
        fields[first] = "late" if i % 2 == 0 else "present"
        status, _headers, text, seconds = await browser.request("POST", action, fields)
        if status not in (200, 303):
            raise SystemExit(f"POST {action}: {status} {text[:300]!r}")
        saves.append(seconds)
        after, read = await browser.page(path)
        reads.append(read)
        _, now = attendance_form(after)
        if now.get(first) != fields[first]:
            raise SystemExit(f"{path} after saving shows {now.get(first)!r}, not {fields[first]!r}")
    return {
        "save median": statistics.median(saves),
        "read after save median": statistics.median(reads),
        "n": rounds,
    }


async def run_backend(backend: str, url: str, calls: int) -> dict[str, Any]:
    settings = Settings(database_url=url, var_dir=analytics.OUT / "pages-var")
    log(f"[{backend}] migrating {url.split('@')[-1]} ...")
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    results: dict[str, Any] = {"pages": {}}
    async with app.router.lifespan_context(app):
        for role, email in ROLES.items():
            browser = Browser(app)
            await browser.sign_in(email)
            log(f"[{backend}] {role}: measuring {calls} calls per page ...")
            results["pages"].update(await measure_role(browser, role, calls))
            if role == "teacher":
                taking = next(
                    (
                        path
                        for name in results["pages"]
                        if (path := name.split(" ")[1]).startswith("/sections/")
                        and "/attendance" in path
                    ),
                    None,
                )
                if taking is not None:
                    results["save"] = await attendance_save(browser, taking, 10)
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}"


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| backend | page | median ms | p95 ms | calls |", "|---|---|---:|---:|---:|"]
    for backend, r in results.items():
        for name, s in r["pages"].items():
            lines.append(
                f"| {backend} | `{name}` | {ms(s['median'])} | {ms(s['p95'])} | {s['n']} |"
            )
        if "save" in r:
            s = r["save"]
            lines.append(
                f"| {backend} | take attendance: save (POST), median | "
                f"{ms(s['save median'])} | | {s['n']} |"
            )
            lines.append(
                f"| {backend} | take attendance: the page after a save, median | "
                f"{ms(s['read after save median'])} | | {s['n']} |"
            )
    return lines


def verdicts(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for backend, r in results.items():
        pages = r["pages"]
        worst = max(pages.items(), key=lambda item: item[1]["p95"])
        over = [name for name, s in pages.items() if s["p95"] >= TARGET_SECONDS]
        verdict = "ok" if not over else f"NOT ({', '.join(over)})"
        lines.append(
            f"- {backend}: {len(pages)} pages, slowest p95 {ms(worst[1]['p95'])} ms "
            f"(`{worst[0]}`); every page < 50 ms: {verdict}"
        )
    return lines


def record(results: dict[str, dict[str, Any]], calls: int) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## pages, {now}, {', '.join(results)}",
        "",
        f"- machine: {analytics.machine()}",
        "- dataset: the district (50,000 students); SQLite a migrated copy, PostgreSQL seeded",
        f"- in process, ASGI calls from one signed-in browser per role, {calls} calls per page",
        f"- revision: {analytics.revision()}",
        "",
        *table(results),
        "",
        *verdicts(results),
        "",
    ]
    with analytics.RESULTS.open("a") as f:
        f.write("\n".join(lines))
    log(f"appended to {analytics.RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument(
        "--pg-url", default=os.environ.get("HOMEROOM_BENCH_DATABASE_URL", DEFAULT_PG)
    )
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    calls = max(5, min(args.calls, MAX_CALLS))
    results: dict[str, dict[str, Any]] = {}
    if args.backend in ("sqlite", "both"):
        analytics.make_copy(args.source or district.district_path())
        url = f"sqlite+aiosqlite:///{analytics.COPY}"
        results["sqlite"] = asyncio.run(run_backend("sqlite", url, calls))
    if args.backend in ("postgresql", "both"):
        try:
            results["postgresql"] = asyncio.run(run_backend("postgresql", args.pg_url, calls))
        except (OSError, SystemExit) as exc:
            log(f"[postgresql] skipped: {exc}")
    if not results:
        raise SystemExit("nothing measured")
    if args.record:
        record(results, calls)
    print("\n".join(table(results)))
    print()
    print("\n".join(verdicts(results)))


if __name__ == "__main__":
    main()
