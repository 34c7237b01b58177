from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import Database, Row, compiled
from homeroom.models import Guardian, LoginEvent, RefreshToken, Student, Teacher, User, UTCDateTime

PROFILE_TABLES: dict[str, type[Student] | type[Teacher] | type[Guardian]] = {
    "student": Student,
    "teacher": Teacher,
    "guardian": Guardian,
}


async def profile_id(session: AsyncSession, user: User) -> int | None:
    table = PROFILE_TABLES.get(user.role)
    if table is None:
        return None
    result = await session.execute(select(table.id).where(table.user_id == user.id))
    return result.scalar_one_or_none()


@compiled
def _failures() -> Select[Any]:
    email: Any = bindparam("email")
    since: Any = bindparam("since", type_=UTCDateTime)
    last_success = (
        select(func.max(LoginEvent.created_at))
        .where(LoginEvent.email == email, LoginEvent.success.is_(True))
        .scalar_subquery()
    )
    return select(func.count(), func.max(LoginEvent.created_at)).where(
        LoginEvent.email == email,
        LoginEvent.success.is_(False),
        LoginEvent.created_at >= since,
        LoginEvent.created_at > func.coalesce(last_success, since),
    )


async def recent_failures(db: Database, email: str, since: datetime) -> tuple[int, datetime | None]:
    """Failed logins for `email` since the later of `since` and its last success."""
    row = await db.reader.first(_failures(db), {"email": email, "since": since})
    count, last = row if row is not None else (0, None)
    if isinstance(last, str):
        last = datetime.fromisoformat(last)
    return int(count), last


class LoginAccount(NamedTuple):
    id: int
    role: str
    school_id: int | None
    password_hash: str
    is_active: bool


@compiled
def _account() -> Select[Any]:
    return select(User.id, User.role, User.school_id, User.password_hash, User.is_active).where(
        User.email == bindparam("email")
    )


async def login_account(db: Database, email: str) -> LoginAccount | None:
    """The login with this e-mail."""
    row = await db.reader.first(_account(db), {"email": email})
    return None if row is None else LoginAccount._make(row)


@compiled
def _profile(role: str) -> Select[Any]:
    """The id of the profile row (PROFILE_TABLES) of the login `user_id` of `role`."""
    table = PROFILE_TABLES[role]
    return select(table.id).where(table.user_id == bindparam("user_id"))


async def profile_id_of(db: Database, role: str, user_id: int) -> int | None:
    """The student, teacher or guardian row a login of `role` is, if any."""
    if role not in PROFILE_TABLES:
        return None
    value = await db.reader.scalar(_profile(db, role), {"user_id": user_id})
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class LoginWrite:
    """What one login attempt writes: its history row, and on success a refresh token and
    the user's last_login_at."""

    event: dict[str, Any]  # login_history columns
    token: dict[str, Any] | None = None  # refresh_tokens columns
    user_id: int | None = None  # the user whose last_login_at becomes `at`
    at: datetime | None = None


_USERS = User.__table__


async def record_logins(session: AsyncSession, logins: list[LoginWrite]) -> None:
    """The writes of many logins: at most three statements (executemany) whatever their
    number. Users are updated in id order (concurrent batches lock rows in one order)."""
    await session.execute(insert(LoginEvent), [w.event for w in logins])
    tokens = [w.token for w in logins if w.token is not None]
    if tokens:
        await session.execute(insert(RefreshToken), tokens)
    touched = sorted((w.user_id, w.at) for w in logins if w.user_id is not None and w.at)
    if touched:
        table: Any = _USERS
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("touched_id"))
            .values(last_login_at=bindparam("touched_at")),
            [{"touched_id": user_id, "touched_at": at} for user_id, at in touched],
        )


def add_refresh_token(session: AsyncSession, values: dict[str, Any]) -> None:
    """A new refresh token (`values`: its columns), inserted at the session's next flush."""
    session.add(RefreshToken(**values))


async def refresh_token_by_digest(session: AsyncSession, digest: str) -> RefreshToken | None:
    result = await session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == digest).with_for_update()
    )
    return result.scalar_one_or_none()


async def revoke_family(session: AsyncSession, family_id: str, when: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=when)
    )


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def revoke_user(session: AsyncSession, user_id: int, when: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=when)
    )


async def revoke_user_but(
    session: AsyncSession, user_id: int, kept_digest: str, when: datetime
) -> None:
    """Revokes every session of the user but the one whose token digest is `kept_digest`
    (its family: a web session is a family of its own)."""
    kept = select(RefreshToken.family_id).where(RefreshToken.token_hash == kept_digest)
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.family_id.not_in(kept),
        )
        .values(revoked_at=when)
    )


class OwnAccount(NamedTuple):
    email: str
    school_id: int | None
    password_hash: str
    is_active: bool


@compiled
def _own_account() -> Select[Any]:
    return select(User.email, User.school_id, User.password_hash, User.is_active).where(
        User.id == bindparam("user_id")
    )


async def own_account(db: Database, user_id: int) -> OwnAccount | None:
    """The caller's own login with its password hash, on the raw read path."""
    row = await db.reader.first(_own_account(db), {"user_id": user_id})
    return None if row is None else OwnAccount._make(row)


async def set_password_hash(
    session: AsyncSession, user_id: int, password_hash: str, when: datetime
) -> None:
    table: Any = _USERS
    await session.execute(
        update(table)
        .where(table.c.id == user_id)
        .values(password_hash=password_hash, updated_at=when)
    )


_ME_COLUMNS = (
    User.id,
    User.email,
    User.full_name,
    User.role,
    User.school_id,
    User.is_active,
    User.last_login_at,
)


@compiled
def _me() -> Select[Any]:
    return select(*_ME_COLUMNS).where(User.id == bindparam("user_id"))


async def me_row(db: Database, user_id: int) -> Row | None:
    """The caller's own user row, on the raw read path (a read takes no write lock)."""
    return await db.reader.first(_me(db), {"user_id": user_id})


class WebSession(NamedTuple):
    """Who a live web session belongs to (auth.service.web_session)."""

    user_id: int
    role: str
    school_id: int | None
    email: str
    full_name: str
    student_id: int | None
    teacher_id: int | None
    guardian_id: int | None

    @property
    def profile_id(self) -> int | None:
        return self.student_id or self.teacher_id or self.guardian_id


@compiled
def _web_session() -> Select[Any]:
    now: Any = bindparam("now", type_=UTCDateTime)
    return (
        select(
            User.id,
            User.role,
            User.school_id,
            User.email,
            User.full_name,
            Student.id,
            Teacher.id,
            Guardian.id,
        )
        .select_from(RefreshToken)
        .join(User, User.id == RefreshToken.user_id)
        .outerjoin(Student, Student.user_id == User.id)
        .outerjoin(Teacher, Teacher.user_id == User.id)
        .outerjoin(Guardian, Guardian.user_id == User.id)
        .where(
            RefreshToken.token_hash == bindparam("digest"),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
            User.is_active.is_(True),
        )
    )


async def web_session(db: Database, digest: str, now: datetime) -> WebSession | None:
    """The live session keyed by `digest` and its active user, with the profile row the user
    is; one read on the raw path."""
    row = await db.reader.first(_web_session(db), {"digest": digest, "now": now})
    return None if row is None else WebSession._make(row)
