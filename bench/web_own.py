"""The student's and guardian's own pages (web/my) on the district dataset: server time per
page, in process (httpx over ASGI: the app's own time and a fraction of a millisecond of
transport), the first request of each page (its cached parts built) and the median and p95
of the following ones (the cache revalidated: versions read, body served). The machine is
shared: the minimum is the page's own cost, the median and p95 include whatever else ran;
/home, measured beside them, is the reference.

    .venv/bin/python bench/web_own.py [--runs 50]

Seeds bench/out/students-50000.db on first use (bench/district.py); signs in as the seeded
`student1@example.edu` and `guardian1@example.edu` (password `bench`) through the sign-in form.
"""

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from district import district_path
from homeroom.app import create_app
from homeroom.config import Settings

# /home first: the reference beside them (the session read and the page frame only).
PAGES = ("/home", "/my/grades", "/my/attendance", "/my/courses", "/my/reports")
PASSWORD = "bench"  # noqa: S105 (the seeded dataset's documented demo password)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _sign_in(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/")
    token = CSRF.search(page.text)
    assert token, "no sign-in form"
    form = {"csrf_token": token[1], "email": email, "password": PASSWORD}
    r = await client.post("/", data=form)
    assert r.status_code == 303, r.text


async def _time(client: httpx.AsyncClient, url: str) -> float:
    started = time.perf_counter()
    r = await client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return elapsed


async def main(runs: int) -> None:
    path = district_path()
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", var_dir=path.parent)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        for email in ("student1@example.edu", "guardian1@example.edu"):
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await _sign_in(client, email)
                pdf = await client.get("/my/reports/transcript.pdf")  # warms the PDF pool
                assert pdf.content.startswith(b"%PDF")
                for page in PAGES:
                    first = await _time(client, page)
                    times = sorted([await _time(client, page) for _ in range(runs)])
                    p95 = times[int(0.95 * (len(times) - 1))]
                    print(
                        f"{email:24} {page:16} first {first:6.1f} ms  min {times[0]:5.1f} ms  "
                        f"median {statistics.median(times):5.1f} ms  p95 {p95:5.1f} ms"
                    )
                for doc in ("/my/reports/report-card.pdf", "/my/reports/transcript.pdf"):
                    times = sorted([await _time(client, doc) for _ in range(5)])
                    print(f"{email:24} {doc:30} median {statistics.median(times):6.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    asyncio.run(main(parser.parse_args().runs))
