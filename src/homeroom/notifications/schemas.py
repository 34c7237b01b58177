from datetime import datetime

from pydantic import BaseModel, Field


class NotificationRead(BaseModel):
    id: int
    kind: str = Field(description="job.succeeded, job.failed, ...")
    title: str
    body: str
    job_id: int | None
    read_at: datetime | None
    created_at: datetime


class NotificationList(BaseModel):
    items: list[NotificationRead]
    total: int
    unread: int
    limit: int
    offset: int


class NotificationFilters(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)
    unread: bool | None = Field(default=None, description="true: only unread ones")


class ReadAllResult(BaseModel):
    updated: int
