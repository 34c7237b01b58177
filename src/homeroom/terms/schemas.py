from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from homeroom.kit.schemas import CreateModel, Id, PatchModel

TermName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TermRead(BaseModel):
    id: int
    school_id: int
    name: str
    start_date: date
    end_date: date
    created_at: datetime
    updated_at: datetime


class TermCreate(CreateModel):
    school_id: Id | None = Field(default=None, description="Only for an all-schools admin")
    name: TermName
    start_date: date
    end_date: date = Field(description="On or after start_date")


class TermUpdate(PatchModel):
    name: TermName | None = None
    start_date: date | None = None
    end_date: date | None = None
