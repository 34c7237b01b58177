from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from homeroom.enums import JobState


class JobRead(BaseModel):
    id: int
    kind: str
    status: JobState
    progress: int = Field(ge=0, le=100)
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    file_name: str | None
    file_size: int | None
    media_type: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    download_url: str | None = Field(description="Set once the job succeeded with a file")


class JobList(BaseModel):
    items: list[JobRead]
    total: int
    limit: int
    offset: int


class JobFilters(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)
    kind: str | None = Field(default=None, max_length=40)
    status: JobState | None = None
