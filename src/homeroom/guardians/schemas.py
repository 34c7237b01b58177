from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from homeroom.kit.schemas import CreateModel, Id, PatchModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=40, pattern=r"^\+?[0-9 ()./-]+$"
    ),
]
Relationship = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class GuardianRead(BaseModel):
    id: int
    school_id: int
    user_id: int | None
    first_name: str
    last_name: str
    email: str
    phone: str | None
    created_at: datetime
    updated_at: datetime
    student_ids: list[int] = Field(description="The guardian's children visible to the caller")


class GuardianCreate(CreateModel):
    school_id: Id | None = Field(default=None, description="Only for an all-schools admin")
    first_name: Name
    last_name: Name
    email: EmailStr
    phone: Phone | None = None


class GuardianUpdate(PatchModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"phone"})

    first_name: Name | None = None
    last_name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None


class GuardianFilters(BaseModel):
    q: str | None = Field(default=None, max_length=100)


class GuardianLink(CreateModel):
    student_id: Id
    relationship: Relationship = "guardian"
