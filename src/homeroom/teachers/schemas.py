from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from homeroom.kit.schemas import CreateModel, Id, PatchModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Department = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TeacherRead(BaseModel):
    id: int
    school_id: int
    user_id: int | None
    first_name: str
    last_name: str
    email: str
    department: str | None
    created_at: datetime
    updated_at: datetime


class TeacherCreate(CreateModel):
    school_id: Id | None = Field(default=None, description="Only for an all-schools admin")
    first_name: Name
    last_name: Name
    email: EmailStr
    department: Department | None = None


class TeacherUpdate(PatchModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"department"})

    first_name: Name | None = None
    last_name: Name | None = None
    email: EmailStr | None = None
    department: Department | None = None


class TeacherFilters(BaseModel):
    q: str | None = Field(default=None, max_length=100)
    department: str | None = Field(default=None, max_length=100)
