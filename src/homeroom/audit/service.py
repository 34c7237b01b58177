"""Every write leaves an audit row in the same transaction as the write."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.auth import Principal
from homeroom.models import AuditLog


def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: int | None,
    school_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditLog(
            actor_id=actor.user_id if actor else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            school_id=school_id,
            details=details or {},
        )
    )
