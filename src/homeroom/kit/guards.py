"""A cheap ASGI guard in front of the application for input no endpoint can store."""

from starlette.types import ASGIApp, Receive, Scope, Send

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
