"""Every write leaves an audit row in the same transaction as the write.

`record` only notes the row; the rows of a transaction are inserted by one statement just
before it commits, with its cache tags (kit/epilogue.py: no code path can commit without
them). Last, because the audit row's trigger bumps the school's activity tag: on PostgreSQL
that row stays locked until the commit, so it is taken as late as possible.
"""

from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from homeroom.audit import repository
from homeroom.kit import epilogue
from homeroom.kit.auth import Principal
from homeroom.models import utcnow


def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: int | None,
    school_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    session.info.setdefault(_PENDING, []).append(
        {
            "actor_id": actor.user_id if actor else None,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "school_id": school_id,
            "details": details or {},
            "created_at": utcnow(),
        }
    )


_PENDING = "homeroom.audit"


@epilogue.part
def _insert_pending(session: Session, sqlite: bool) -> tuple[str, dict[str, Any]] | None:
    noted = session.info.pop(_PENDING, None)
    if not noted:
        return None
    rows = [
        (
            r["school_id"],
            r["actor_id"],
            r["action"],
            r["entity"],
            r["entity_id"],
            orjson.dumps(r["details"]).decode(),
            r["created_at"],
        )
        for r in noted
    ]
    return repository.insert_logs(sqlite, rows)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
