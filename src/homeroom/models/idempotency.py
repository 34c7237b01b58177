"""Idempotency keys: the first answer to a creating request, replayed to its retries."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from homeroom.models.base import Base, UTCDateTime


class IdempotencyKey(Base):
    """A client's Idempotency-Key and the answer it got (kit/idempotency.py).

    The row is inserted first thing in the request's own transaction (its primary key makes a
    concurrent request with the same key wait for it, or conflict) and given the answer just
    before that transaction commits: a request that fails leaves no row, one that succeeded
    leaves its answer. Keys are per user; they expire after HOMEROOM_IDEMPOTENCY_TTL_SECONDS.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index(None, "expires_at"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of the request (method, path, query string, body): the same key with another
    # request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The answer; NULL only inside the transaction that is still making it.
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
