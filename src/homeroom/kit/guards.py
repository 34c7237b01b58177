"""Cheap ASGI guards in front of the application: input no endpoint can store, and request
bodies no endpoint should read."""

import asyncio
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homeroom.kit.errors import problem


class RefuseNul:
    """A NUL byte (%00) in the path or query string is refused with 422: PostgreSQL text
    cannot hold it, and no legitimate school data contains one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"%00" in scope["query_string"] or "\x00" in scope["path"]):
            response = problem(422, "Validation failed", "NUL characters are not allowed")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised from `receive()` once a streamed body passes its limit. An HTTPException so that
    FastAPI's body parsing lets it through (it turns other errors into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the {limit:,}-byte limit")


class BodyTimeout(HTTPException):
    def __init__(self) -> None:
        super().__init__(408, "the request body did not arrive in time")


# After its first BODY_GRACE_SECONDS a body must keep arriving at BODY_MIN_RATE bytes a second
# on average, else 408 (Kestrel's MinRequestBodyDataRate, stricter: neither granian nor uvicorn
# bounds the time a body takes, only the headers'). 16 KB/s is a poor mobile link; a client
# trickling a byte at a time is cut after the grace period.
BODY_MIN_RATE = 16 * 1024


class LimitBody:
    """Bounds every request body before the application reads it.

    A body declared (Content-Length) larger than the route's limit is refused at once with
    413, unread. Any other body is counted as the application receives it, chunked bodies
    included: 413 as soon as the count passes the limit (nothing past it is buffered), and 408
    when it arrives slower than BODY_MIN_RATE after `grace_seconds`. A request without a body
    (no Content-Length, no Transfer-Encoding, HTTP/1) goes through untouched: one scan of its
    header list. `larger` maps path prefixes to their own limits (imports take files).
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        larger: Mapping[str, int] | None = None,
        grace_seconds: float = 10.0,
    ) -> None:
        self.app = app
        self.limit = limit
        self.larger = tuple((larger or {}).items())
        self.grace = grace_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if (
            not chunked
            and (declared is None or declared == b"0")
            and scope.get("http_version", "1.1") < "2"  # HTTP/2 and 3 need no length
        ):
            await self.app(scope, receive, send)  # no body to read
            return
        limit = self._limit(scope["path"])
        if declared is not None and declared.isdigit() and int(declared) > limit:
            detail = f"the request body is larger than the {limit:,}-byte limit"
            await problem(413, "Content too large", detail)(scope, receive, send)
            return
        await self.app(scope, self._bounded(receive, limit), send)

    def _limit(self, path: str) -> int:
        for prefix, limit in self.larger:
            if path.startswith(prefix):
                return limit
        return self.limit

    def _bounded(self, receive: Receive, limit: int) -> Receive:
        received = 0
        started: float | None = None
        complete = False
        grace = self.grace

        async def bounded_receive() -> Message:
            nonlocal received, started, complete
            if complete:  # past the body: waiting for a disconnect may take as long as it takes
                return await receive()
            if started is None:
                started = asyncio.get_running_loop().time()
            try:
                async with asyncio.timeout_at(started + grace + received / BODY_MIN_RATE):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                complete = not message.get("more_body", False)
            return message

        return bounded_receive
