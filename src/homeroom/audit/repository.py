"""Audit trail reads. Rows are written by audit.service.record inside each write."""

from typing import Any

import orjson
from sqlalchemy import Select, bindparam, select

from homeroom.audit.schemas import AuditLogFilters
from homeroom.kit.bulk import RowSet
from homeroom.kit.db import Database, Row
from homeroom.kit.pagination import PagePlan, Sorting, SortKey, count_statement, page_statement
from homeroom.kit.scopes import ScopeKind, school_filter
from homeroom.models import AuditLog

COLUMNS = (
    AuditLog.id,
    AuditLog.school_id,
    AuditLog.actor_id,
    AuditLog.action,
    AuditLog.entity,
    AuditLog.entity_id,
    AuditLog.details,
    AuditLog.created_at,
)
FIELDS = tuple(c.key for c in COLUMNS)
_POS = {name: i for i, name in enumerate(FIELDS)}
_DETAILS = _POS["details"]

SORTING = Sorting(
    keys={name: SortKey(getattr(AuditLog, name), _POS[name]) for name in ("id", "created_at")},
    default="-id",
    id_column=AuditLog.id,
)

FILTERS = ("entity", "entity_id", "actor_id", "action")


def to_item(row: Row) -> dict[str, Any]:
    item = dict(zip(FIELDS, row, strict=True))
    details = item["details"]
    # The raw drivers hand JSON back as text; the ORM path has already decoded it.
    if isinstance(details, str | bytes):
        item["details"] = orjson.loads(details)
    elif details is None:
        item["details"] = {}
    return item


def _scoped(kind: ScopeKind) -> Select[Any]:
    # Entries with no school (e.g. an all-schools admin's own changes) only an all-schools
    # admin sees: `school_id = :scope_school` is never true for NULL.
    return select(*COLUMNS).where(school_filter(kind, AuditLog.school_id))


def _filtered(kind: ScopeKind, present: tuple[str, ...]) -> Select[Any]:
    stmt = _scoped(kind)
    for name in present:
        stmt = stmt.where(getattr(AuditLog, name) == bindparam(name))
    return stmt


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: AuditLogFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    values = {name: getattr(filters, name) for name in FILTERS}
    present = tuple(name for name in FILTERS if values[name] is not None)
    page_q = db.query(
        ("audit.page", kind, present, plan.shape),
        lambda: page_statement(_filtered(kind, present), SORTING, plan),
    )
    count_q = db.query(
        ("audit.count", kind, present), lambda: count_statement(_filtered(kind, present))
    )
    params = {**scope, **{name: values[name] for name in present}}
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is None:
        total = int(await db.reader.scalar(count_q, params))
    return rows, total


async def get(db: Database, kind: ScopeKind, scope: dict[str, Any], log_id: int) -> Row | None:
    query = db.query(
        ("audit.get", kind), lambda: _scoped(kind).where(AuditLog.id == bindparam("id"))
    )
    return await db.reader.first(query, {**scope, "id": log_id})


_ROWS = RowSet(
    (
        ("school_id", "INTEGER"),
        ("actor_id", "INTEGER"),
        ("action", "TEXT"),
        ("entity", "TEXT"),
        ("entity_id", "INTEGER"),
        ("details", "TEXT"),
        ("created_at", "TIMESTAMPTZ"),
    )
)


def insert_logs(sqlite: bool, rows: list[tuple[Any, ...]]) -> tuple[str, dict[str, Any]]:
    """One INSERT of a transaction's audit rows (school_id, actor_id, action, entity,
    entity_id, details as JSON text, created_at), whatever their number: its text and
    parameters, run by the transaction's epilogue (kit/epilogue.py)."""
    details = "r.details" if sqlite else "CAST(r.details AS JSON)"
    sql = (
        "INSERT INTO audit_logs (school_id, actor_id, action, entity, entity_id, details, "
        f"created_at) SELECT r.school_id, r.actor_id, r.action, r.entity, r.entity_id, {details}, "
        f"r.created_at FROM ({_ROWS.select(sqlite)}) r"
    )
    return sql, _ROWS.params(sqlite, rows)
