"""Driving the web UI's forms in tests as a browser would: read the page, post its form."""

import re

from httpx import AsyncClient, Response

from tests.factories import PASSWORD

# A form's hidden field, or the header htmx sends from the page's body (base.html).
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRF-Token": "([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match[1] or match[2]


async def sign_in(client: AsyncClient, email: str, password: str = PASSWORD) -> Response:
    """Opens the sign-in page and posts its form; the answer, not followed."""
    page = await client.get("/")
    assert page.status_code == 200, page.text
    form = {"csrf_token": csrf_of(page.text), "email": email, "password": password}
    return await client.post("/", data=form)


async def sign_out(client: AsyncClient) -> Response:
    home = await client.get("/home")
    assert home.status_code == 200
    return await client.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
