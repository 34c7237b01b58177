"""Sign-in, the session cookie, CSRF, sign-out and the home page of each role."""

import re

import httpx
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from homeroom.app import create_app
from homeroom.config import Settings
from homeroom.models import School
from homeroom.web.session import SESSION_COOKIE, SIGN_IN_COOKIE
from tests.factories import PASSWORD, Factory
from tests.web.pages import csrf_of, sign_in, sign_out

ROLES = ("admin", "staff", "teacher", "student", "guardian")


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


async def _email(factory: Factory, role: str, school: School) -> str:
    _, who = await factory.login_as(role, school)
    if role in ("admin", "staff"):
        return str(who.email)
    return str((await factory.user_of(who)).email)


def _nav_links(html: str) -> list[str]:
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


class TestSignIn:
    @pytest.mark.parametrize("role", ROLES)
    async def test_each_role_signs_in_to_its_home_page(
        self, client: AsyncClient, factory: Factory, school: School, role: str
    ) -> None:
        email = await _email(factory, role, school)
        r = await sign_in(client, email)
        assert r.status_code == 303
        assert r.headers["location"] == "/home"
        home = await client.get("/home")
        assert home.status_code == 200
        assert email in home.text
        assert "Sign out" in home.text
        # Signed in, the sign-in page sends the person on to their home page.
        again = await client.get("/")
        assert (again.status_code, again.headers["location"]) == (303, "/home")

    @pytest.mark.parametrize(
        ("role", "names"),
        [
            ("teacher", ["Attendance", "Gradebook"]),
            ("student", ["Grades"]),
            ("guardian", ["Grades"]),
            ("staff", ["Students", "Dashboard"]),
            ("admin", ["Students", "Dashboard"]),
        ],
    )
    async def test_the_navigation_has_the_roles_pages_and_each_opens(
        self, client: AsyncClient, factory: Factory, school: School, role: str, names: list[str]
    ) -> None:
        await sign_in(client, await _email(factory, role, school))
        home = await client.get("/home")
        links = _nav_links(home.text)
        assert links[0] == "Home"
        assert set(names) <= set(links)
        assert links[-1] == "Sign out"
        nav = home.text.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
        for href in re.findall(r'<a [^>]*href="([^"]+)"', nav):
            page = await client.get(href)
            assert page.status_code == 200, (href, page.text[:500])
            assert 'aria-current="page"' in page.text or href == "/sign-out", href

    async def test_the_cookie_is_httponly_and_lax_and_secure_over_https(
        self, app: FastAPI, factory: Factory, school: School
    ) -> None:
        email = await _email(factory, "teacher", school)
        transport = httpx.ASGITransport(app=app)
        for base, secure in (("http://test", False), ("https://test", True)):
            async with AsyncClient(transport=transport, base_url=base) as c:
                r = await sign_in(c, email)
                cookie = next(
                    v for v in r.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE)
                )
                flags = {part.strip().lower() for part in cookie.split(";")}
                assert "httponly" in flags
                assert "samesite=lax" in flags
                assert "path=/" in flags
                assert ("secure" in flags) is secure

    async def test_behind_a_trusted_proxy_that_ends_tls_the_cookies_are_secure(
        self, app: FastAPI, settings: Settings
    ) -> None:
        forwarded = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}

        async def sign_in_cookie(application: FastAPI) -> set[str]:
            transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 123))
            async with AsyncClient(transport=transport, base_url="http://test") as c:
                r = await c.get("/", headers=forwarded)
            cookie = next(
                v for v in r.headers.get_list("set-cookie") if v.startswith(SIGN_IN_COOKIE)
            )
            return {part.strip().lower() for part in cookie.split(";")}

        # By default no forwarded header is believed: a client could claim anything.
        assert "secure" not in await sign_in_cookie(app)
        proxied = create_app(settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"}))
        async with proxied.router.lifespan_context(proxied):
            assert "secure" in await sign_in_cookie(proxied)

    async def test_a_wrong_password_shows_an_alert_and_no_session(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        email = await _email(factory, "teacher", school)
        r = await sign_in(client, email, "wrong password")
        assert r.status_code == 401
        assert 'role="alert"' in r.text
        assert "Incorrect email or password." in r.text
        assert SESSION_COOKIE not in client.cookies
        assert (await client.get("/home")).headers["location"] == "/"
        # The page offers a fresh form that works.
        assert (await sign_in(client, email)).status_code == 303

    async def test_a_deactivated_account_is_refused(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await factory.user("staff", school, is_active=False)
        r = await sign_in(client, user.email)
        assert r.status_code == 401
        assert 'role="alert"' in r.text

    async def test_lockout_is_the_apis(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        email = await _email(factory, "teacher", school)
        for _ in range(settings.login_max_failures):
            assert (await sign_in(client, email, "bad")).status_code == 401
        r = await sign_in(client, email)  # even the right password waits
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= settings.login_base_lockout_seconds
        assert 'role="alert"' in r.text and "Too many failed sign-ins" in r.text
        assert SESSION_COOKIE not in client.cookies
        # The same account is locked out of the API too: one count of failures.
        api = await client.post("/api/v1/auth/login", json={"email": email, "password": "x"})
        assert api.status_code == 429


class TestCsrf:
    async def test_sign_in_without_a_token_is_refused(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        email = await _email(factory, "teacher", school)
        await client.get("/")
        for form in (
            {"email": email, "password": PASSWORD},
            {"email": email, "password": PASSWORD, "csrf_token": "0" * 64},
        ):
            r = await client.post("/", data=form)
            assert r.status_code == 403
            assert 'role="alert"' in r.text
            assert SESSION_COOKIE not in client.cookies

    async def test_a_token_of_another_browser_is_refused(
        self, app: FastAPI, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        """The token is bound to its own pre-session cookie: an attacker's page cannot reuse
        the token it got for itself."""
        email = await _email(factory, "teacher", school)
        theirs = csrf_of((await client.get("/")).text)
        async with AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            await c.get("/")
            form = {"email": email, "password": PASSWORD, "csrf_token": theirs}
            assert (await c.post("/", data=form)).status_code == 403
            assert SESSION_COOKIE not in c.cookies
            c.cookies.delete(SIGN_IN_COOKIE)
            assert (await c.post("/", data=form)).status_code == 403

    async def test_a_second_tab_leaves_the_first_forms_token_good(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        email = await _email(factory, "teacher", school)
        first = csrf_of((await client.get("/")).text)
        await client.get("/")  # the sign-in page opened again
        form = {"email": email, "password": PASSWORD, "csrf_token": first}
        assert (await client.post("/", data=form)).status_code == 303

    async def test_sign_out_without_a_valid_token_keeps_the_session(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await sign_in(client, await _email(factory, "student", school))
        for form in ({}, {"csrf_token": "nope"}):
            r = await client.post("/sign-out", data=form)
            assert r.status_code == 403
        assert (await client.get("/home")).status_code == 200

    async def test_only_forms_are_read(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await client.get("/")
        assert (await client.post("/", json={"email": "a@b.c"})).status_code == 415
        r = await client.post(
            "/",
            content=b"email=%ff%fe",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 400
        many = "&".join(f"f{i}=1" for i in range(100))
        r = await client.post(
            "/", content=many, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert r.status_code == 400

    async def test_a_body_over_the_limit_is_413(
        self, client: AsyncClient, settings: Settings
    ) -> None:
        big = b"email=" + b"a" * (settings.max_body_bytes + 1)
        r = await client.post(
            "/", content=big, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert r.status_code == 413


class TestSessionEnds:
    async def test_the_sign_out_link_posts_through_htmx_with_the_header_token(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await sign_in(client, await _email(factory, "guardian", school))
        home = await client.get("/home")
        token = csrf_of(home.text)
        assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in home.text
        assert '<a href="/sign-out" hx-post="/sign-out">Sign out</a>' in home.text
        # Without script the link opens a page that asks to confirm.
        confirm = await client.get("/sign-out")
        assert confirm.status_code == 200
        assert csrf_of(confirm.text) == token
        htmx = {"hx-request": "true"}
        refused = await client.post("/sign-out", headers={**htmx, "x-csrf-token": "nope"})
        assert refused.status_code == 403
        r = await client.post("/sign-out", headers={**htmx, "x-csrf-token": token})
        assert (r.status_code, r.headers["hx-redirect"]) == (200, "/")
        assert (await client.get("/home")).headers["location"] == "/"

    async def test_sign_out_ends_the_session_for_the_old_cookie_too(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await sign_in(client, await _email(factory, "teacher", school))
        old = client.cookies[SESSION_COOKIE]
        r = await sign_out(client)
        assert (r.status_code, r.headers["location"]) == (303, "/")
        assert SESSION_COOKIE not in client.cookies
        client.cookies.set(SESSION_COOKIE, old)
        home = await client.get("/home")
        assert (home.status_code, home.headers["location"]) == (303, "/")

    async def test_deactivation_ends_the_session(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await factory.user("staff", school)
        await sign_in(client, user.email)
        assert (await client.get("/home")).status_code == 200
        admin = await factory.user("admin", school)
        r = await client.delete(f"/api/v1/users/{user.id}", headers=factory.headers(admin))
        assert r.status_code == 204, r.text
        assert (await client.get("/home")).headers["location"] == "/"

    async def test_a_session_cookie_is_no_refresh_token(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await sign_in(client, await _email(factory, "teacher", school))
        secret = client.cookies[SESSION_COOKIE]
        r = await client.post("/api/v1/auth/refresh", json={"refresh_token": secret})
        assert r.status_code == 401
        assert (await client.get("/home")).status_code == 200
        # ... and a refresh token is no session cookie.
        email = await _email(factory, "student", school)
        pair = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        client.cookies.set(SESSION_COOKIE, pair.json()["refresh_token"])
        assert (await client.get("/home")).status_code == 303


class TestHeaders:
    async def test_pages_carry_the_security_headers(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        sign_in_page = await client.get("/")
        await sign_in(client, await _email(factory, "teacher", school))
        home = await client.get("/home")
        for r in (sign_in_page, home):
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "style-src 'self'" in csp
            assert "default-src 'none'" in csp and "unsafe" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "same-origin"
            assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert sign_in_page.headers["cache-control"] == "no-store"
        assert home.headers["cache-control"] == "private, no-cache"
        again = await client.get("/home", headers={"if-none-match": home.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""

    async def test_nothing_is_loaded_from_elsewhere(self, client: AsyncClient) -> None:
        html = (await client.get("/")).text
        assert "http://" not in html and "https://" not in html
        assert "<style" not in html and " style=" not in html
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script

    async def test_ui_routes_stay_out_of_the_openapi_document(self, client: AsyncClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/" not in paths and "/home" not in paths and "/sign-out" not in paths
