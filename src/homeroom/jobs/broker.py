"""The taskiq broker that carries job ids, and the process-wide job runtime.

- No `HOMEROOM_BROKER_URL`: taskiq's in-memory broker; each API process runs the jobs it
  submits, in its own event loop (handlers put CPU work in kit/cpu's process pool).
- `redis://...`: taskiq-redis's list queue; `amqp://...`: taskiq-aio-pika (RabbitMQ). API
  processes only send; `homeroom worker` processes receive and run.

Whatever the broker, the jobs table is the truth: a message only names a job id, every
process sweeps for queued jobs nobody ran (a broker that was down when they were sent, a
restart) and abandoned ones (a worker that died mid-job), and a job runs once because its
claim is one conditional UPDATE.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import structlog
from taskiq import AsyncBroker, InMemoryBroker

from homeroom.config import Settings
from homeroom.jobs import runner
from homeroom.jobs import service as job_service
from homeroom.kit.db import Database

log = structlog.get_logger("homeroom.jobs")

TASK_NAME = "homeroom.run_job"
QUEUE = "homeroom.jobs"


def make_broker(settings: Settings) -> AsyncBroker:
    url = settings.broker_url
    if not url:
        return InMemoryBroker(max_async_tasks=settings.job_concurrency)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from taskiq_redis import ListQueueBroker

        return ListQueueBroker(url, queue_name=QUEUE)
    if url.startswith(("amqp://", "amqps://")):
        from taskiq_aio_pika import AioPikaBroker

        return AioPikaBroker(url, queue_name=QUEUE, qos=settings.job_concurrency)
    raise ValueError("HOMEROOM_BROKER_URL must start with redis://, rediss:// or amqp://")


@dataclass
class JobRuntime:
    """One per process: the broker, the task that runs a job id, and the sweeper."""

    db: Database
    settings: Settings
    runs_jobs: bool
    broker: AsyncBroker = field(init=False)
    task: Any = field(init=False)
    _sweeper: asyncio.Task[None] | None = field(default=None, init=False)
    _running: set[asyncio.Task[Any]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.broker = make_broker(self.settings)

        async def run_job(job_id: int) -> None:
            await runner.run_job(self.db, self.settings, job_id)

        self.task = self.broker.register_task(run_job, task_name=TASK_NAME)

    @property
    def in_process(self) -> bool:
        return isinstance(self.broker, InMemoryBroker)

    async def start(self) -> None:
        if not self.in_process and self.runs_jobs:
            self.broker.is_worker_process = True
        await self.broker.startup()
        job_service.send_through(self.db.sessionmaker, self.send)
        if self.runs_jobs:
            runner.load_handlers(self.settings)
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def send(self, job_id: int) -> None:
        """Sends a job id to the broker; a failure leaves the job queued for the sweeper."""
        try:
            await self.task.kiq(job_id)
        except Exception as exc:  # the job stays queued; the next sweep sends it again
            log.warning("job not sent; it will be retried", job_id=job_id, error=repr(exc))

    async def sweep(self) -> int:
        ids = await runner.recover(self.db, self.settings)
        for job_id in ids:
            await self.send(job_id)
        return len(ids)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # a database blip; try again next period
                log.warning("job sweep failed", error=repr(exc))
            await asyncio.sleep(self.settings.job_sweep_seconds)

    async def drain(self, within: float = 10) -> None:
        """Waits for the jobs this process is running in-process to end."""
        if isinstance(self.broker, InMemoryBroker):
            pending = list(self.broker._running_tasks)
            if pending:
                await asyncio.wait(pending, timeout=within)

    async def close(self) -> None:
        job_service.send_through(self.db.sessionmaker, None)
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        # Let running jobs end (they are re-queued at the next start if they don't).
        await self.drain()
        await self.broker.shutdown()
