"""Compression: brotli/gzip for large text-like responses the client accepts, nothing else."""

import gzip
import zlib
from collections.abc import AsyncIterator

import brotli
import httpx
import orjson
import pytest
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from homeroom.kit.compression import MINIMUM_SIZE, Compress, choose_encoding
from tests.factories import Factory

BIG = orjson.dumps([{"id": i, "name": f"Student {i}", "status": "active"} for i in range(100)])
assert len(BIG) > 2 * MINIMUM_SIZE


def _app(body: bytes, media_type: str, **headers: str) -> Compress:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await Response(body, media_type=media_type, headers=headers)(scope, receive, send)

    return Compress(inner)


async def _get(app: ASGIApp, accept: str | None, method: str = "GET") -> httpx.Response:
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    # The raw bytes are asserted: httpx must not decode them, so the header goes in by hand.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        request = c.build_request(method, "/", headers=headers)
        if accept is None:
            del request.headers["accept-encoding"]
        return await c.send(request, stream=True)


async def _raw(response: httpx.Response) -> bytes:
    return b"".join([chunk async for chunk in response.aiter_raw()])


class TestChooseEncoding:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("gzip, deflate, br", "br"),
            ("gzip", "gzip"),
            ("br;q=0.5, gzip", "gzip"),
            ("br;q=0, gzip;q=0.1", "gzip"),
            ("gzip;q=0, br;q=0", None),
            ("identity", None),
            ("deflate", None),
            ("*", "br"),
            ("*;q=0.2, br;q=0", "gzip"),
            ("GZIP", "gzip"),
            ("gzip;q=abc", None),
            ("", None),
        ],
    )
    def test_negotiation(self, header: str, expected: str | None) -> None:
        assert choose_encoding(header) == expected


class TestCompressMiddleware:
    async def test_brotli_when_preferred(self) -> None:
        r = await _get(_app(BIG, "application/json", ETag='"abc"'), "gzip, deflate, br")
        raw = await _raw(r)
        assert r.headers["content-encoding"] == "br"
        assert r.headers["vary"] == "Accept-Encoding"
        assert int(r.headers["content-length"]) == len(raw) < len(BIG)
        assert brotli.decompress(raw) == BIG
        assert r.headers["etag"] == 'W/"abc"'  # another representation: weak validator

    async def test_gzip(self) -> None:
        r = await _get(_app(BIG, "application/problem+json"), "gzip")
        raw = await _raw(r)
        assert r.headers["content-encoding"] == "gzip"
        assert gzip.decompress(raw) == BIG

    async def test_no_accept_encoding_passes_through(self) -> None:
        r = await _get(_app(BIG, "application/json"), None)
        assert "content-encoding" not in r.headers
        assert "vary" not in r.headers
        assert await _raw(r) == BIG

    async def test_small_body_not_compressed_but_varies(self) -> None:
        small = b'{"status":"ok"}'
        r = await _get(_app(small, "application/json", ETag='"abc"'), "gzip, br")
        assert "content-encoding" not in r.headers
        assert r.headers["vary"] == "Accept-Encoding"
        assert r.headers["etag"] == 'W/"abc"'  # the same validator as a compressed answer
        assert await _raw(r) == small

    @pytest.mark.parametrize(
        "media_type",
        [
            "image/png",
            "application/zip",
            "application/octet-stream",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ],
    )
    async def test_already_compressed_types_untouched(self, media_type: str) -> None:
        r = await _get(_app(BIG, media_type), "gzip, br")
        assert "content-encoding" not in r.headers
        assert await _raw(r) == BIG

    async def test_existing_content_encoding_untouched(self) -> None:
        body = zlib.compress(BIG, wbits=31)
        app = _app(body, "application/json", **{"Content-Encoding": "gzip"})
        r = await _get(app, "br")
        assert r.headers["content-encoding"] == "gzip"
        assert await _raw(r) == body

    async def test_existing_vary_is_extended(self) -> None:
        r = await _get(_app(BIG, "application/json", Vary="Authorization"), "gzip")
        assert r.headers["vary"] == "Authorization, Accept-Encoding"

    async def test_head_not_compressed(self) -> None:
        r = await _get(_app(BIG, "application/json"), "gzip", method="HEAD")
        assert "content-encoding" not in r.headers
        assert r.headers["content-length"] == str(len(BIG))

    @pytest.mark.parametrize("encoding", ["gzip", "br"])
    async def test_streamed_body(self, encoding: str) -> None:
        lines = [f"{i},Student {i},active\n".encode() for i in range(2000)]

        async def rows() -> AsyncIterator[bytes]:
            for i in range(0, len(lines), 100):
                yield b"".join(lines[i : i + 100])

        async def inner(scope: Scope, receive: Receive, send: Send) -> None:
            await StreamingResponse(rows(), media_type="text/csv")(scope, receive, send)

        r = await _get(Compress(inner), encoding)
        raw = await _raw(r)
        assert r.headers["content-encoding"] == encoding
        assert "content-length" not in r.headers
        plain = brotli.decompress(raw) if encoding == "br" else gzip.decompress(raw)
        assert plain == b"".join(lines)
        assert len(raw) < len(plain) / 3


class TestCompressedApi:
    async def test_list_compressed_and_revalidated(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        for _ in range(30):
            await factory.student(school)
        plain = await client.get(
            "/api/v1/students", headers={**headers, "Accept-Encoding": "identity"}
        )
        assert plain.status_code == 200
        assert len(plain.content) > MINIMUM_SIZE
        assert "content-encoding" not in plain.headers

        r = await client.get("/api/v1/students", headers={**headers, "Accept-Encoding": "br"})
        assert r.headers["content-encoding"] == "br"
        assert "Accept-Encoding" in r.headers["vary"]
        assert r.json() == plain.json()  # httpx decoded it
        assert r.headers["etag"] == "W/" + plain.headers["etag"]
        assert r.headers["cache-control"] == "private, no-cache"

        # Either validator revalidates; a 304 is never compressed.
        for etag in (r.headers["etag"], plain.headers["etag"]):
            again = await client.get(
                "/api/v1/students",
                headers={**headers, "Accept-Encoding": "br", "If-None-Match": etag},
            )
            assert again.status_code == 304
            assert again.content == b""
            assert "content-encoding" not in again.headers
            assert again.headers["etag"] == r.headers["etag"]  # what its 200 carries
            assert "Accept-Encoding" in again.headers["vary"]

    async def test_error_bodies_small_not_compressed(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.get(
            "/api/v1/students/999999", headers={**headers, "Accept-Encoding": "gzip"}
        )
        assert r.status_code == 404
        assert "content-encoding" not in r.headers
