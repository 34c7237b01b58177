"""Response compression (brotli, gzip) as a pure ASGI middleware.

Compresses responses of text-like types (JSON, problem+json, CSV, HTML, ...) whose body is at
least `minimum_size` bytes when the request's Accept-Encoding allows it, preferring brotli over
gzip at equal q. Never touches 1xx/204/304 responses, HEAD requests, bodies that already have a
Content-Encoding, or already-compressed types (xlsx, images, zip: they are not on the list).

When the client negotiated an encoding, every response of a compressible type (compressed or
too small to be) and every 304 carries `Vary: Accept-Encoding` and a weak ETag: compressed bytes
are another representation, so a strong validator may not be shared with the identity one
(RFC 9110 8.8.3), and a 304 must carry the validator its 200 would have had whatever the body
size. If-None-Match and If-Match compare weakly here (kit/responses), so clients holding either
form still get their 304 or pass their precondition.

Cost when nothing is compressed: a request without Accept-Encoding passes straight through (one
scan of the request headers); with it, the response start is inspected once (the headers
Starlette already wrote) and a small body is forwarded as is.
"""

import zlib

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Brotli quality 4 and gzip level 6 each compress a 50-row JSON page (15 KB) in ~100-115 us
# (measured on this machine); higher brotli qualities cost several times more for a few %.
BROTLI_QUALITY = 4
GZIP_LEVEL = 6
MINIMUM_SIZE = 1024

_COMPRESSIBLE_PREFIXES = (
    b"application/json",
    b"application/problem+json",
    b"text/",
    b"application/javascript",
    b"application/xml",
    b"image/svg+xml",
)
_SKIP_STATUSES = frozenset({204, 206})
_VARY = (b"vary", b"Accept-Encoding")

BR = "br"
GZIP = "gzip"
_SUPPORTED = (BR, GZIP)  # server preference at equal q


def quality_weights(header: str) -> dict[str, float]:
    """An Accept-style header's quality value by (lowercased) name: 1 without `q`, 0 for a
    malformed one (RFC 9110 12.4.2). Also read by reports/pdf.py's Accept negotiation."""
    weights: dict[str, float] = {}
    for item in header.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        weights[name] = q
    return weights


def choose_encoding(accept_encoding: str) -> str | None:
    """The encoding to use for an Accept-Encoding value (RFC 9110 12.5.3), or None."""
    weights = quality_weights(accept_encoding)
    best: str | None = None
    best_q = 0.0
    for encoding in _SUPPORTED:
        q = weights.get(encoding, weights.get("*", 0.0))
        if q > best_q:
            best, best_q = encoding, q
    return best


# Clients send a handful of distinct Accept-Encoding values; parse each once.
_choices: dict[bytes, str | None] = {}
_CHOICES_MAX = 256


def _choice(value: bytes) -> str | None:
    try:
        return _choices[value]
    except KeyError:
        choice = choose_encoding(value.decode("latin-1"))
        if len(_choices) < _CHOICES_MAX:
            _choices[value] = choice
        return choice


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == BR:
        out: bytes = brotli.compress(body, quality=BROTLI_QUALITY)
        return out
    return zlib.compress(body, GZIP_LEVEL, wbits=31)


class _Stream:
    """Incremental compressor for streamed bodies (exports)."""

    def __init__(self, encoding: str) -> None:
        self._br = brotli.Compressor(quality=BROTLI_QUALITY) if encoding == BR else None
        self._gz = None if self._br else zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)

    def feed(self, data: bytes, last: bool) -> bytes:
        if self._br is not None:
            out: bytes = self._br.process(data)
            # Flush each chunk so a streamed export reaches the client as it is produced.
            tail = self._br.finish() if last else self._br.flush()  # type: ignore[attr-defined]
            return out + tail
        assert self._gz is not None
        out = self._gz.compress(data)
        return out + self._gz.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _negotiated(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with Vary: Accept-Encoding and a weak ETag (one pass, new list)."""
    out: list[tuple[bytes, bytes]] = []
    vary = False
    for name, value in headers:
        if name == b"etag":
            if not value.startswith(b"W/"):
                value = b"W/" + value
        elif name == b"vary":
            vary = True
            lowered = value.lower()
            if b"accept-encoding" not in lowered and value.strip() != b"*":
                value += b", Accept-Encoding"
        out.append((name, value))
    if not vary:
        out.append(_VARY)
    return out


def _compressed_headers(
    headers: list[tuple[bytes, bytes]], encoding: str, length: int | None
) -> list[tuple[bytes, bytes]]:
    out = [(n, v) for n, v in _negotiated(headers) if n != b"content-length"]
    out.append((b"content-encoding", encoding.encode()))
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    return out


class _Responder:
    __slots__ = ("encoding", "minimum_size", "send", "start", "stream")

    def __init__(self, send: Send, encoding: str, minimum_size: int) -> None:
        self.send = send
        self.encoding = encoding
        self.minimum_size = minimum_size
        self.start: Message | None = None  # held until the first body message
        self.stream: _Stream | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            # Inline (no helper coroutine): this runs for every response of a client that
            # accepts compression, small ones included.
            status = message["status"]
            if status == 304:
                message["headers"] = _negotiated(message["headers"])
                await self.send(message)
                return
            if status < 200 or status in _SKIP_STATUSES:
                await self.send(message)
                return
            compressible = False
            length = -1
            for name, value in message["headers"]:
                if name == b"content-type":
                    compressible = value.startswith(_COMPRESSIBLE_PREFIXES)
                elif name == b"content-length":
                    length = int(value)
                elif name == b"content-encoding":
                    compressible = False
                    break
            if compressible:
                if 0 <= length < self.minimum_size:
                    message["headers"] = _negotiated(message["headers"])
                else:
                    self.start = message
                    return
            await self.send(message)
        elif self.start is not None or self.stream is not None:
            await self._on_body(message)
        else:
            await self.send(message)

    async def _on_body(self, message: Message) -> None:
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        start = self.start
        if start is not None:
            self.start = None
            headers = list(start.get("headers", ()))
            if not more:
                if len(body) < self.minimum_size:
                    start["headers"] = _negotiated(headers)
                    await self.send(start)
                    await self.send(message)
                    return
                body = compress(body, self.encoding)
                start["headers"] = _compressed_headers(headers, self.encoding, len(body))
                await self.send(start)
                await self.send({"type": "http.response.body", "body": body})
                return
            self.stream = _Stream(self.encoding)
            start["headers"] = _compressed_headers(headers, self.encoding, None)
            await self.send(start)
        assert self.stream is not None
        chunk = self.stream.feed(body, last=not more)
        await self.send({"type": "http.response.body", "body": chunk, "more_body": more})


class Compress:
    """ASGI middleware: brotli or gzip for large text-like responses the client accepts."""

    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        encoding = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                encoding = _choice(value)
                break
        if encoding is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Responder(send, encoding, self.minimum_size))
