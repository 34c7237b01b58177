"""Audit trail reads. Rows are written by audit.service.record inside each write."""

from typing import Any

import orjson
from sqlalchemy import Select, select

from homeroom.audit.schemas import AuditLogFilters, AuditLogRead
from homeroom.kit.bulk import RowSet
from homeroom.kit.db import Row
from homeroom.kit.pagination import Sorting
from homeroom.kit.records import Listing, columns_of, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter
from homeroom.models import AuditLog

COLUMNS = columns_of(AuditLog, AuditLogRead)
FIELDS = tuple(c.key for c in COLUMNS)
SORTING = Sorting.of(COLUMNS, "-id", "created_at")  # newest first unless asked


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


RESOURCE = resource("audit log entry", AuditLog, _scoped, COLUMNS, item=to_item)
LISTING = Listing(
    "audit_logs",
    RESOURCE,
    _scoped,
    SORTING,
    AuditLogFilters,
    filters={name: equals(getattr(AuditLog, name)) for name in AuditLogFilters.model_fields},
)


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
