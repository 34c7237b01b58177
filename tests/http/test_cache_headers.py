"""Cache headers on every GET and If-Match on every PATCH/DELETE, found by walking the routes.

The demo seed fills the database; each role then walks every GET route of the application with
real ids (the first item its own list shows), so a new endpoint is covered without being named
here. Rules: a 200 JSON GET has an ETag and answers If-None-Match with a 304 carrying the same
validator; personal data (everything under /api/v1 that needs a token) is
`private, no-cache` and never has a max-age; auth answers, operations endpoints and the
web UI's sign-in page (it carries a CSRF secret of its own) are `no-store`. A stale If-Match
on any PATCH/DELETE is 412 and changes nothing.
"""

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from homeroom.config import Settings
from homeroom.jobs import service as jobs
from homeroom.kit.db import Database, run_after_commit
from homeroom.kit.security import AccessClaims
from homeroom.seed.runner import run_seed
from tests.jobs import handlers, wait_for_job
from tests.web.pages import sign_in as web_sign_in

assert handlers  # registers the test.echo job kind

PASSWORD = "seeded-password"
LOGINS = {
    "admin": "admin@example.edu",
    "staff": "registrar@example.edu",
    "teacher": "teacher1@example.edu",
    "student": "student1@example.edu",
    "guardian": "guardian1@example.edu",
}
NO_STORE_PATHS = ("/api/v1/auth/", "/healthz", "/readyz", "/metrics")
NO_STORE_PAGES = ("/",)
PARAM = re.compile(r"\{(\w+)\}")
# Sub-resources without a representation of their own (no GET, so no ETag to match).
WITHOUT_REPRESENTATION = {("DELETE", "/api/v1/guardians/{guardian_id}/students/{student_id}")}


def routes(app: FastAPI, method: str) -> list[str]:
    return [
        r.path for r in app.routes if isinstance(r, APIRoute) and method in (r.methods or set())
    ]


def expected_cache_control(path: str) -> str:
    no_store = path.startswith(NO_STORE_PATHS) or path in NO_STORE_PAGES
    return "no-store" if no_store else "private, no-cache"


class Walker:
    """Fills a route's path parameters with ids the caller can see."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self._first: dict[str, int | None] = {}

    async def first_id(self, collection: str) -> int | None:
        if collection not in self._first:
            r = await self.client.get(f"/api/v1/{collection}?limit=1", headers=self.headers)
            items = r.json().get("items") if r.status_code == 200 else None
            self._first[collection] = items[0]["id"] if items else None
        return self._first[collection]

    async def resolve(self, template: str) -> str | None:
        """The template with each {param} replaced by the first id of the collection named
        by the segment before it, or None when the caller sees no such item."""
        segments = template.split("/")
        for i, segment in enumerate(segments):
            if PARAM.fullmatch(segment):
                found = await self.first_id(segments[i - 1])
                if found is None:
                    return None
                segments[i] = str(found)
        return "/".join(segments)


async def seed(settings: Settings) -> None:
    await run_seed(settings, 40, PASSWORD, 7, if_empty=False, quiet=True)


async def login(client: httpx.AsyncClient, role: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"email": LOGINS[role], "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def check_get(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> int:
    r = await client.get(path, headers=headers)
    if r.status_code != 200:
        return r.status_code
    cache_control = r.headers.get("cache-control", "")
    assert cache_control == expected_cache_control(path), (path, cache_control)
    assert "max-age" not in cache_control and "public" not in cache_control, path
    # Streamed exports have no ETag; JSON and whole documents (PDF, job files) do.
    whole = ("application/json", "application/pdf")
    if not r.headers["content-type"].startswith(whole) and "/download" not in path:
        return 200
    etag = r.headers.get("etag")
    assert etag, f"{path}: no ETag"
    again = await client.get(path, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304, (path, again.status_code)
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == cache_control
    # A validator that does not match gets the full body.
    other = await client.get(path, headers={**headers, "If-None-Match": '"not-it"'})
    assert other.status_code == 200, path
    return 200


async def finished_job(client: httpx.AsyncClient, db: Database, headers: dict[str, str]) -> None:
    """A finished job with a file, owned by the caller, so /jobs/{id}/download has an id."""
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()
    claims = AccessClaims(me["id"], me["role"], me["school_id"], None)
    async with db.sessionmaker() as session:
        job = await jobs.submit(session, claims, "test.echo", {"text": "walked"})
        await session.commit()
        await run_after_commit(session)
    assert (await wait_for_job(client, headers, job["id"]))["status"] == "succeeded"


async def finished_export(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """A finished export of the caller's, so /exports/{id} has an id."""
    r = await client.post(
        "/api/v1/exports", headers=headers, json={"kind": "students", "format": "csv"}
    )
    assert r.status_code == 202, r.text
    assert (await wait_for_job(client, headers, r.json()["id"]))["status"] == "succeeded"


@pytest.fixture
async def seeded(db: Database, settings: Settings) -> None:
    await seed(settings)


class TestGetCacheHeaders:
    @pytest.mark.usefixtures("seeded")
    async def test_every_get_route_as_admin(
        self, app: FastAPI, client: httpx.AsyncClient, db: Database
    ) -> None:
        headers = await login(client, "admin")
        await finished_job(client, db, headers)
        await finished_export(client, headers)
        assert await check_get(client, "/", {}) == 200  # the web UI's sign-in page
        assert (await web_sign_in(client, LOGINS["admin"], PASSWORD)).status_code == 303
        walker = Walker(client, headers)
        statuses: dict[str, Any] = {}
        for template in routes(app, "GET"):
            path = await walker.resolve(template)
            statuses[template] = None if path is None else await check_get(client, path, headers)
        # The admin sees everything: every GET route was exercised with a 200 (the web UI's
        # pages with the session cookie), but the sign-in page, which sends a signed-in
        # person on to their home page, and the student's and guardian's own pages (/my/),
        # which are no one else's (tests/web/test_own.py walks them as those roles).
        others = {t: s for t, s in statuses.items() if s != 200 and not t.startswith("/my/")}
        assert others == {"/": 303}
        assert {s for t, s in statuses.items() if t.startswith("/my/")} == {403}
        assert len(statuses) >= 30

    @pytest.mark.usefixtures("seeded")
    @pytest.mark.parametrize("role", ["staff", "teacher", "student", "guardian"])
    async def test_every_get_route_as(
        self, role: str, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        headers = await login(client, role)
        walker = Walker(client, headers)
        answered = 0
        for template in routes(app, "GET"):
            path = await walker.resolve(template)
            if path is not None and await check_get(client, path, headers) == 200:
                answered += 1
        assert answered >= 8  # own profile, grades, attendance, sections, ...

    async def test_operations_no_store(self, db: Database, client: httpx.AsyncClient) -> None:
        for path in ("/healthz", "/readyz", "/metrics"):
            r = await client.get(path)
            assert r.status_code == 200
            assert r.headers["cache-control"] == "no-store"

    async def test_auth_answers_no_store(
        self, db: Database, settings: Settings, client: httpx.AsyncClient
    ) -> None:
        await seed(settings)
        r = await client.post(
            "/api/v1/auth/login", json={"email": LOGINS["admin"], "password": PASSWORD}
        )
        assert r.headers["cache-control"] == "no-store"
        tokens = r.json()
        r = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-store"
        bad = await client.post(
            "/api/v1/auth/login", json={"email": LOGINS["admin"], "password": "wrong-password"}
        )
        assert bad.status_code == 401
        assert bad.headers["cache-control"] == "no-store"


class TestIfMatch:
    @pytest.mark.usefixtures("seeded")
    @pytest.mark.parametrize("method", ["PATCH", "DELETE"])
    async def test_stale_if_match_is_412(
        self, method: str, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        headers = await login(client, "admin")
        walker = Walker(client, headers)
        checked = []
        for template in routes(app, method):
            if (method, template) in WITHOUT_REPRESENTATION:
                continue
            path = await walker.resolve(template)
            assert path is not None, template
            before = await client.get(path, headers=headers)
            assert before.status_code == 200, (path, before.text)
            stale = {**headers, "If-Match": '"stale-etag"'}
            kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
            r = await client.request(method, path, headers=stale, **kwargs)
            assert r.status_code == 412, (method, path, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            after = await client.get(path, headers=headers)
            assert after.headers["etag"] == before.headers["etag"], path
            checked.append(template)
        assert len(checked) >= 9

    @pytest.mark.usefixtures("seeded")
    async def test_current_if_match_is_accepted(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        headers = await login(client, "admin")
        walker = Walker(client, headers)
        for template in routes(app, "PATCH"):
            path = await walker.resolve(template)
            assert path is not None
            etag = (await client.get(path, headers=headers)).headers["etag"]
            strong = etag.removeprefix("W/")
            r = await client.patch(path, headers={**headers, "If-Match": strong}, json={})
            assert r.status_code == 200, (path, r.status_code, r.text)
            # The answer's ETag is the one a GET now gives: the next PATCH can chain on it,
            # in its weak form (what a compressed GET carries) too.
            after = await client.get(path, headers=headers)
            assert r.headers["etag"] == after.headers["etag"], (
                path,
                {k: (v, after.json()[k]) for k, v in r.json().items() if after.json()[k] != v},
            )
            weak = "W/" + r.headers["etag"].removeprefix("W/")
            r = await client.patch(path, headers={**headers, "If-Match": weak}, json={})
            assert r.status_code == 200, (path, r.status_code, r.text)
