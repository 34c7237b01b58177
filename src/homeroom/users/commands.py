"""The create-user command's work, outside the request cycle."""

from homeroom.config import Settings
from homeroom.kit.db import Database
from homeroom.kit.security import hash_password_async
from homeroom.models import ROLES, User
from homeroom.schools import repository as school_repository
from homeroom.users import repository
from homeroom.users.service import users_changed


async def create_user_command(
    settings: Settings, email: str, password: str, role: str, school_code: str | None, name: str
) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    if "@" not in email:
        raise ValueError("email is not valid")
    if school_code is None and role != "admin":
        raise ValueError("only an admin may be bound to no school; give --school CODE")
    db = Database(settings)
    try:
        async with db.sessionmaker() as session, session.begin():
            school_id = None
            if school_code is not None:
                school_id = await school_repository.id_by_code(session, school_code)
                if school_id is None:
                    raise ValueError(f"no school with code {school_code!r}")
            email = email.strip().lower()
            if await repository.email_taken(session, email):
                raise ValueError(f"a user with email {email} already exists")
            repository.add(
                session,
                User(
                    email=email,
                    password_hash=await hash_password_async(password),
                    role=role,
                    school_id=school_id,
                    full_name=name,
                ),
            )
            await users_changed(session, school_id)
    finally:
        await db.close()
