"""POST /api/v1/batch: GET sub-requests run in-process as the caller, answered in order."""

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from homeroom.batch import subrequests
from homeroom.batch.schemas import BatchRequest
from homeroom.kit.db import Database
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = "/api/v1/batch"


def get(path: str, **headers: str) -> dict[str, Any]:
    request: dict[str, Any] = {"method": "GET", "path": path}
    if headers:
        request["headers"] = headers
    return request


async def batch(client: httpx.AsyncClient, headers: dict[str, str], *requests: Any) -> Any:
    return await client.post(URL, headers=headers, json={"requests": list(requests)})


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fails the block instead of hanging the run when it takes longer: a SIGALRM handler
    raises even inside a loop that never yields to the event loop (and again every second,
    for the next such loop). Only inside a task: raised in the event loop's own machinery it
    would escape the test."""

    def expired(signum: int, frame: Any) -> None:
        try:
            in_task = asyncio.current_task() is not None
        except RuntimeError:
            in_task = False
        if in_task:
            raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def errors_at(r: httpx.Response) -> list[list[Any]]:
    assert r.status_code == 422, r.text
    return [e["loc"] for e in r.json()["errors"]]


class TestBatch:
    async def test_results_in_order_with_their_own_statuses(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        a = await factory.student(school)
        b = await factory.student(school)
        single = await client.get(f"/api/v1/students/{b.id}", headers=headers)
        r = await batch(
            client,
            headers,
            get(f"/api/v1/students/{b.id}"),
            get("/api/v1/students/999999"),
            get(f"/api/v1/students/{a.id}"),
            get("/api/v1/students?limit=5000"),
            get(f"/api/v1/students/{b.id}", **{"If-None-Match": single.headers["etag"]}),
            get("/api/v1/students?limit=1&sort=last_name"),
            get("/api/v1/no-such-thing"),
        )
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        out = r.json()["responses"]
        assert [x["status"] for x in out] == [200, 404, 200, 422, 304, 200, 404]
        assert out[0]["body"] == single.json()
        # Sub-requests negotiate no compression: the strong form of the same validator.
        assert out[0]["headers"]["etag"] == single.headers["etag"].removeprefix("W/")
        assert out[0]["headers"]["content-type"] == "application/json"
        assert out[0]["headers"]["cache-control"] == "private, no-cache"
        assert out[1]["body"]["status"] == 404
        assert out[1]["headers"]["content-type"] == "application/problem+json"
        assert out[2]["body"]["id"] == a.id
        assert out[3]["body"]["errors"]
        assert out[4]["body"] is None
        assert out[5]["body"]["total"] == 2 and len(out[5]["body"]["items"]) == 1
        assert "link" in out[5]["headers"]

    async def test_each_request_authorized_as_the_caller(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, me = await factory.login_as("student", school)
        other = await factory.student(school)
        r = await batch(
            client,
            headers,
            get(f"/api/v1/students/{me.id}"),
            get(f"/api/v1/students/{other.id}"),  # out of scope: 404, never revealed
            get("/api/v1/users"),  # not the student's to list: 403
            get("/api/v1/students"),
        )
        assert r.status_code == 200, r.text
        out = r.json()["responses"]
        assert [x["status"] for x in out] == [200, 404, 403, 200]
        assert [s["id"] for s in out[3]["body"]["items"]] == [me.id]

    async def test_caller_must_be_authenticated(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        r = await client.post(URL, json={"requests": [get("/api/v1/students")]})
        assert r.status_code == 401
        r = await client.post(
            URL,
            headers={"Authorization": "Bearer not-a-token"},
            json={"requests": [get("/api/v1/students")]},
        )
        assert r.status_code == 401

    async def test_twenty_requests_at_most(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        s = await factory.student(school)
        r = await batch(client, headers, *[get(f"/api/v1/students/{s.id}")] * 20)
        assert r.status_code == 200
        assert [x["status"] for x in r.json()["responses"]] == [200] * 20
        r = await batch(client, headers, *[get(f"/api/v1/students/{s.id}")] * 21)
        assert errors_at(r) == [["body", "requests"]]
        r = await batch(client, headers)
        assert errors_at(r) == [["body", "requests"]]

    @pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE", "PUT", "get"])
    async def test_only_get(self, client: httpx.AsyncClient, factory: Factory, method: str) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        s = await factory.student(school)
        r = await batch(
            client,
            headers,
            get("/api/v1/students"),
            {"method": method, "path": f"/api/v1/students/{s.id}"},
        )
        assert errors_at(r) == [["body", "requests", 1, "method"]]
        # Nothing ran: the student is still there.
        assert (await client.get(f"/api/v1/students/{s.id}", headers=headers)).json()[
            "archived_at"
        ] is None

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/batch",
            "/api/v1/batch/",
            "/api/v1/batch?x=1",
            "/api/v1/%62atch",
            "/api/v1/students/../batch",
            "/healthz",
            "/metrics",
            "http://evil.example/api/v1/students",
            "/api/v2/students",
            "api/v1/students",
            "/api/v1/students#frag",
            "/api/v1/stu dents",
            "/api/v1/",
        ],
    )
    async def test_paths_refused(
        self, client: httpx.AsyncClient, factory: Factory, path: str
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await batch(client, headers, get(path))
        assert errors_at(r) == [["body", "requests", 0, "path"]]

    @pytest.mark.parametrize("name", ["Authorization", "Host", "Cookie", "X-Forwarded-For"])
    async def test_headers_limited(
        self, client: httpx.AsyncClient, factory: Factory, name: str
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("student", school)
        admin_headers, _ = await factory.login_as("admin", school)
        r = await batch(
            client, headers, get("/api/v1/users", **{name: admin_headers["Authorization"]})
        )
        assert errors_at(r) == [["body", "requests", 0, "headers"]]

    async def test_nul_in_sub_path_is_a_422_sub_response(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await batch(client, headers, get("/api/v1/students?q=%00"))
        assert r.status_code == 200
        assert r.json()["responses"][0]["status"] == 422

    async def test_batch_answer_compressed_sub_bodies_plain(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        for _ in range(10):
            await factory.student(school)
        r = await client.post(
            URL,
            headers={**headers, "Accept-Encoding": "gzip"},
            json={"requests": [get("/api/v1/students?limit=10")] * 3},
        )
        assert r.headers["content-encoding"] == "gzip"
        out = r.json()["responses"]
        assert all(len(x["body"]["items"]) == 10 for x in out)
        assert all("content-encoding" not in x["headers"] for x in out)


class TestOnlyJsonReads:
    """A sub-request whose route streams or answers anything but one JSON document is refused
    with a 422 naming it, before any sub-request runs (a streamed export used to spin the
    worker at 100% CPU forever, deaf to SIGTERM)."""

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/export/students/csv",
            "/api/v1/export/students/excel?q=a",
            "/api/v1/jobs/1/download",
            "/api/v1/students/{id}/report-card",
            "/api/v1/students/{id}/transcript?format=json",
            "/api/v1/imports/students/template",
            "/api/v1/imports/grades/template?format=xlsx",
        ],
    )
    async def test_files_and_streams_refused(
        self, client: httpx.AsyncClient, factory: Factory, path: str
    ) -> None:
        school = await factory.school()
        headers, me = await factory.login_as("student", school)
        with deadline(10):
            r = await batch(client, headers, get(path.format(id=me.id)))
        assert errors_at(r) == [["body", "requests", 0, "path"]]
        assert r.headers["content-type"] == "application/problem+json"
        assert "JSON reads only" in r.json()["errors"][0]["msg"]
        # The worker still answers.
        with deadline(5):
            assert (await client.get("/healthz")).status_code == 200

    async def test_refused_before_anything_runs(
        self, client: httpx.AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        headers, me = await factory.login_as("student", school)
        with deadline(10), count_queries() as statements:
            r = await batch(
                client,
                headers,
                get(f"/api/v1/students/{me.id}"),
                get("/api/v1/export/students/csv"),
                get("/api/v1/students"),
                get(f"/api/v1/students/{me.id}/report-card"),
            )
        assert errors_at(r) == [["body", "requests", 1, "path"], ["body", "requests", 3, "path"]]
        assert r.json()["detail"].startswith("body.requests.1.path: ")
        assert statements == []

    async def test_json_reads_and_unknown_paths_still_run(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("student", school)
        r = await batch(
            client,
            headers,
            get("/api/v1/imports"),
            get("/api/v1/jobs"),
            get("/api/v1/export/students/pdf"),
            get("/api/v1/imports/students"),  # POST only: 405, as on its own
        )
        assert r.status_code == 200, r.text
        assert [x["status"] for x in r.json()["responses"]] == [200, 200, 404, 405]


def _endless_app() -> FastAPI:
    """Routes that stream although they declare JSON: the runner must still end them."""
    app = FastAPI()

    async def chunks(count: int | None) -> AsyncIterator[bytes]:
        sent = 0
        while count is None or sent < count:
            sent += 1
            yield b"x" * 65536
            await asyncio.sleep(0)

    @app.get("/api/v1/stream", response_model=list[int])
    async def stream() -> Response:
        return StreamingResponse(chunks(3), media_type="text/plain")

    @app.get("/api/v1/endless", response_model=list[int])
    async def endless() -> Response:
        return StreamingResponse(chunks(None), media_type="text/plain")

    @app.get("/api/v1/big", response_model=list[int])
    async def big() -> Response:
        return Response(b"[" + b"1," * 400_000 + b"1]", media_type="application/json")

    return app


class TestSubRequestRunner:
    PARENT = {"type": "http", "headers": [(b"authorization", b"Bearer x")]}

    async def run(self, *paths: str) -> list[dict[str, Any]]:
        data = BatchRequest.model_validate({"requests": [get(p) for p in paths]})
        with deadline(10):
            return await subrequests.run_batch(_endless_app(), self.PARENT, data)

    async def test_a_stream_ends_without_spinning(self) -> None:
        out = await self.run("/api/v1/stream")
        assert out[0]["status"] == 200
        assert out[0]["body"] == "x" * 3 * 65536

    async def test_an_endless_stream_is_cut_at_the_batch_limit(self) -> None:
        out = await self.run("/api/v1/endless", "/api/v1/stream")
        assert [x["status"] for x in out] == [413, 200]
        assert out[0]["headers"]["content-type"] == "application/problem+json"
        assert out[0]["body"]["status"] == 413
        assert "4,194,304-byte limit" in out[0]["body"]["detail"]

    async def test_the_limit_is_for_the_whole_batch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(subrequests, "MAX_BATCH_BYTES", 1_200_000)
        out = await self.run("/api/v1/big", "/api/v1/big")
        assert sorted(x["status"] for x in out) == [200, 413]
        assert len(next(x for x in out if x["status"] == 200)["body"]) == 400_001
        monkeypatch.setattr(subrequests, "MAX_BATCH_BYTES", 500_000)
        out = await self.run("/api/v1/big")
        assert out[0]["status"] == 413
