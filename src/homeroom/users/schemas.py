from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from homeroom.enums import Role
from homeroom.kit.schemas import CreateModel, Id, PatchModel

FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# The password policy of every login (created, changed by an admin or by its owner). argon2
# hashes anything, but an unbounded password is a cheap way to burn CPU.
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256
Password = Annotated[
    str, StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]


class UserRead(BaseModel):
    id: int
    school_id: int | None
    email: str
    full_name: str
    role: Role
    is_active: bool
    profile_id: int | None = Field(
        description="The student, teacher or guardian row this login is, if any"
    )
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserCreate(CreateModel):
    email: EmailStr
    password: Password
    role: Role
    full_name: FullName
    school_id: Id | None = Field(
        default=None, description="Only for an all-schools admin; omit for another such admin"
    )
    profile_id: Id | None = Field(
        default=None, description="An existing student/teacher/guardian row to log in as"
    )


class UserUpdate(PatchModel):
    full_name: FullName | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: Password | None = None


class UserFilters(BaseModel):
    q: str | None = Field(default=None, max_length=100)
    role: Role | None = None
    is_active: bool | None = None
