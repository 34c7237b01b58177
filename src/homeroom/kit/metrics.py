"""Request metrics for Prometheus: count and latency per route template, method and status.

A pure ASGI middleware on prometheus_client (prometheus-fastapi-instrumentator needs
Starlette >= 1.0; FastAPI 0.128 is pinned to Starlette 0.50). With several worker processes,
`homeroom serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory so that /metrics
aggregates every worker instead of answering for whichever one took the scrape.

Every label value comes from a closed set, whatever the client sends (500 requests with made-up
method names once added 8,000 series): the method is one of METHODS or "other", the route the
matched route's template or "unmatched", the status its class (1xx-5xx).
"""

import os
import shutil
import time
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "homeroom_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "homeroom_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The children of each label set, made once: .labels() validates and locks each call.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            # The route's template, never the raw path: ids would explode the label set.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            if method not in METHODS:
                method = "other"
            key = (method, template, status // 100)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = self._children(*key)
            requests, seconds = series
            requests.inc()
            seconds.observe(time.perf_counter() - started)

    @staticmethod
    def _children(method: str, template: str, status_class: int) -> tuple[Counter, Histogram]:
        status = _STATUS_CLASSES.get(status_class, "5xx")  # not a status: the server erred
        return REQUESTS.labels(method, template, status), LATENCY.labels(method, template)


def exposition() -> tuple[bytes, str]:
    """The metrics text of this process, or of every worker in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def prepare_multiprocess(directory: Path, workers: int) -> None:
    """Before starting several workers: a fresh directory for their shared metric files."""
    if workers <= 1:
        return
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
