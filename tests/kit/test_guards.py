"""Request bodies are bounded before the application reads them (kit/guards.LimitBody): a 50 MB
JSON body to /auth/login was read and parsed whole, four at once kept ~360 MB in a worker."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from homeroom.app import create_app
from homeroom.config import Settings
from homeroom.imports import service as import_service
from tests.factories import Factory
from tests.imports.conftest import csv_text, upload

LOGIN = "/api/v1/auth/login"
MiB = 1024 * 1024


def scope_of(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("test", 80),
        "client": ("127.0.0.1", 1234),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"test"), *headers],
    }


async def call(app: Any, scope: dict[str, Any], receive: Any) -> tuple[int, dict[str, str], Any]:
    """Runs one request through the ASGI app; (status, headers, parsed body)."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 10)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], headers, orjson.loads(body)


class TestBodyLimit:
    async def test_a_declared_size_past_the_limit_is_refused_unread(
        self, app: FastAPI, settings: Settings
    ) -> None:
        read = 0

        async def receive() -> dict[str, Any]:
            nonlocal read
            read += 1
            return {"type": "http.request", "body": b" " * 65536, "more_body": read < 32}

        headers = [(b"content-type", b"application/json"), (b"content-length", b"52428800")]
        status, response_headers, body = await call(app, scope_of("POST", LOGIN, headers), receive)
        assert status == 413
        assert response_headers["content-type"] == "application/problem+json"
        assert (
            body["detail"]
            == f"the request body is larger than the {settings.max_body_bytes:,}-byte limit"
        )
        assert read == 0

    async def test_a_chunked_body_is_cut_as_soon_as_it_passes_the_limit(
        self, client: httpx.AsyncClient
    ) -> None:
        sent = 0

        async def fifty_megabytes() -> AsyncIterator[bytes]:
            nonlocal sent
            for _ in range(800):
                sent += 65536
                yield b" " * 65536

        r = await client.post(
            LOGIN, content=fifty_megabytes(), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in r.request.headers  # chunked
        assert r.status_code == 413, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["title"] == "Content too large"
        assert sent <= MiB + 65536  # read up to the chunk that passed it, no further

    async def test_four_at_once(self, client: httpx.AsyncClient) -> None:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(160):
                yield b" " * 65536

        posts = [
            client.post(LOGIN, content=body(), headers={"Content-Type": "application/json"})
            for _ in range(4)
        ]
        answers = await asyncio.wait_for(asyncio.gather(*posts), 20)
        assert [r.status_code for r in answers] == [413] * 4

    async def test_a_body_within_the_limit_is_read(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        user = await factory.user("staff", await factory.school())
        padding = " " * (MiB - 1000)
        body = f'{{"email": "{user.email}", "password": "wrong"}}{padding}'.encode()
        r = await client.post(LOGIN, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 401, r.text

    async def test_imports_take_their_own_limit(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        staff, _ = await factory.login_as("staff", await factory.school())
        header = "student_number,first_name,last_name,email,date_of_birth,grade_level,notes"
        notes = "x" * 600  # an ignored column
        rows = [f"N{i},Ann,Lee,n{i}@example.edu,2010-01-01,9,{notes}" for i in range(2_000)]
        data = csv_text(header, *rows)
        assert MiB < len(data) < import_service.limits.max_bytes
        r = await upload(client, "students", data, staff, raw="text/csv", dry_run=True)
        assert r.status_code == 200, r.text
        assert r.json()["rows"] == 2_000

    async def test_a_body_that_never_arrives_is_a_408(self, settings: Settings) -> None:
        impatient = create_app(settings.model_copy(update={"body_grace_seconds": 0.3}))
        got_first = False

        async def receive() -> dict[str, Any]:
            nonlocal got_first
            if not got_first:
                got_first = True
                return {"type": "http.request", "body": b'{"email": "a', "more_body": True}
            await asyncio.Event().wait()  # the rest never comes
            raise AssertionError("unreachable")

        headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
        status, response_headers, body = await call(
            impatient, scope_of("POST", LOGIN, headers), receive
        )
        assert status == 408
        assert response_headers["content-type"] == "application/problem+json"
        assert body["detail"] == "the request body did not arrive in time"

    def test_the_openapi_document_says_413_where_a_body_is_read(self, app: FastAPI) -> None:
        paths = app.openapi()["paths"]
        assert "413" in paths[LOGIN]["post"]["responses"]
        assert "413" in paths["/api/v1/students/{student_id}"]["patch"]["responses"]
        assert "413" not in paths["/api/v1/students/{student_id}"]["get"]["responses"]
