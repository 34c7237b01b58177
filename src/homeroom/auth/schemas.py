from typing import Literal

from pydantic import BaseModel, Field

from homeroom.kit.schemas import CreateModel


class LoginRequest(CreateModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(CreateModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class LogoutRequest(CreateModel):
    refresh_token: str | None = Field(default=None, min_length=10, max_length=200)


class PasswordChangeRequest(CreateModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(
        min_length=1,
        max_length=1024,
        description="At least 8 and at most 256 characters, and not the current password",
    )


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class Me(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    school_id: int | None
    student_id: int | None
    teacher_id: int | None
    guardian_id: int | None
    last_login_at: str | None
