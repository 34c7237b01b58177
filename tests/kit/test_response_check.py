import httpx
import pytest
from fastapi import FastAPI, Response
from pydantic import BaseModel

from homeroom.kit.response_check import CheckResponses, ResponseMismatch


class Thing(BaseModel):
    id: int
    name: str


class Queued(BaseModel):
    job: int


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/good", response_model=Thing)
    async def good() -> Response:
        return Response(b'{"id": 1, "name": "a"}', media_type="application/json")

    @app.get("/bad", response_model=Thing)
    async def bad() -> Response:
        return Response(b'{"id": "one"}', media_type="application/json")

    @app.post("/queued", response_model=Thing, responses={202: {"model": Queued}})
    async def queued() -> Response:
        return Response(b'{"job": 5}', status_code=202, media_type="application/json")

    @app.get("/bad-error", response_model=Thing)
    async def bad_error() -> Response:
        return Response(b'{"title": "gone"}', status_code=404, media_type="application/json")

    @app.get("/csv", response_model=Thing)
    async def csv() -> Response:
        return Response(b"id,name\n", media_type="text/csv")

    app.add_middleware(CheckResponses)
    return app


async def _get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


class TestCheckResponses:
    async def test_a_matching_answer_is_sent_unchanged(self) -> None:
        r = await _get("/good")
        assert r.status_code == 200
        assert r.json() == {"id": 1, "name": "a"}

    async def test_an_answer_its_model_does_not_describe_raises(self) -> None:
        with pytest.raises(ResponseMismatch, match=r"GET /bad answered 200"):
            await _get("/bad")

    async def test_a_status_with_its_own_model_is_checked_against_it(self) -> None:
        transport = httpx.ASGITransport(app=_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/queued")
        assert (r.status_code, r.json()) == (202, {"job": 5})

    async def test_errors_and_other_formats_are_not_checked(self) -> None:
        assert (await _get("/bad-error")).status_code == 404
        assert (await _get("/csv")).text == "id,name\n"
