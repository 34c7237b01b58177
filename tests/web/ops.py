"""Helpers of the office pages' tests (imports, exports, users, notifications, password)."""

import re
from typing import Any

from httpx import AsyncClient

from homeroom.models import School, User
from tests.factories import Factory
from tests.web.pages import csrf_of, sign_in


async def signed_in_as(client: AsyncClient, factory: Factory, role: str, school: School) -> User:
    """Signs `client` in as a new user of `role` (with its profile for a student, teacher or
    guardian); that user."""
    _, who = await factory.login_as(role, school)
    user = who if role in ("admin", "staff") else await factory.user_of(who)
    r = await sign_in(client, user.email)
    assert r.status_code == 303, r.text
    return user


async def token_of(client: AsyncClient, url: str) -> str:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def alert_of(html: str) -> str:
    match = re.search(r'role="alert">(.*?)</(?:p|div)>', html, re.S)
    assert match, "the page has no alert"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[1])).strip()


def status_of(html: str) -> str:
    match = re.search(r'role="status">(.*?)</p>', html, re.S)
    assert match, "the page has no status"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[1])).strip()


def is_current(html: str, href: str) -> bool:
    return f'<a href="{href}" aria-current="page">' in html


def data_statements(statements: list[Any]) -> list[str]:
    """Statements less transaction control (SQLite's BEGIN IMMEDIATE)."""
    return [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
