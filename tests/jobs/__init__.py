"""Waiting for background jobs in tests."""

import asyncio
import time
from typing import Any

import httpx

FINISHED = ("succeeded", "failed")


async def wait_for_job(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    job_id: int,
    timeout: float = 30,  # noqa: ASYNC109 (a polling deadline, not a cancel scope)
) -> dict[str, Any]:
    """Polls GET /jobs/{id} until the job succeeded or failed; returns its last view."""
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        if job["status"] in FINISHED:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout}s"
        await asyncio.sleep(0.05)
