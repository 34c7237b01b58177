from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from homeroom.kit.schemas import Id


class AuditLogRead(BaseModel):
    id: int
    school_id: int | None
    actor_id: int | None = Field(description="The user who made the change")
    action: str
    entity: str
    entity_id: int | None
    details: dict[str, Any]
    created_at: datetime


class AuditLogFilters(BaseModel):
    entity: str | None = Field(default=None, max_length=40, description="e.g. student, grade")
    entity_id: Id | None = None
    actor_id: Id | None = None
    action: str | None = Field(default=None, max_length=40, description="e.g. create, update")
