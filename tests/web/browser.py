"""A real browser for the web UI's tests: playwright driving Debian's chromium (found on the
PATH or at HOMEROOM_TEST_CHROMIUM; never `playwright install`), against the test app served
over real HTTP by uvicorn in the test's own event loop, so the factories' rows are there."""

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, async_playwright

from tests.live import free_port

CHROMIUM = os.environ.get("HOMEROOM_TEST_CHROMIUM") or shutil.which("chromium")

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """`app` (already started) on a free local port until the block ends; its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            await browser.close()
