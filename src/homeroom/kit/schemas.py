"""Bases for request bodies."""

from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

T = TypeVar("T")


def _refuse_nul(value: Any) -> Any:
    """Refuses text no database can store, as bad input rather than a driver error: NUL
    (PostgreSQL text cannot hold it) and lone surrogates (JSON allows the escape, UTF-8 has
    no encoding for it)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    return value


class CreateModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    _no_nul = field_validator("*", mode="before")(_refuse_nul)


class PatchModel(BaseModel):
    """A PATCH body: every field optional, applied with exclude_unset.

    An explicit null is refused unless the field is listed in `nullable`: "leave it as it is"
    is said by leaving the field out.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nullable: ClassVar[frozenset[str]] = frozenset()

    _no_nul = field_validator("*", mode="before")(_refuse_nul)

    @field_validator("*", mode="after")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Page(BaseModel, Generic[T]):
    """The list envelope every list endpoint returns."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


# Ids are 32-bit on every backend: a larger number is a 422, never a driver overflow (500).
MAX_ID = 2_147_483_647
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
