from sqlalchemy import BigInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from homeroom.models.base import Base


class CacheVersion(Base):
    """The current version of one cache tag (kit/cache.py). A write replaces the versions of
    the tags it affects inside its own transaction, so cached responses keyed by these versions
    can never outlive a committed write."""

    __tablename__ = "cache_versions"

    tag: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
