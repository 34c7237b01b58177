"""The office pages in a real browser: a registrar's import with a bad row (previewed, nothing
written), then a good one imported; an export followed live to its download; a form posted
without its CSRF token is refused."""

import re

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from playwright.async_api import Page, expect

from homeroom.models import User
from tests.factories import PASSWORD, Factory
from tests.web.browser import chromium, needs_chromium, served

pytestmark = [pytest.mark.browser, needs_chromium]

HEADER = "student_number,first_name,last_name,email,date_of_birth,grade_level"
CSV_WITH_A_BAD_ROW = "\n".join(
    [
        HEADER,
        "B0001,Ada,Lovelace,ada@example.edu,2010-12-10,9",
        "B0002,Alan,Turing,alan@example.edu,2011-06-23,99",
        "B0003,Grace,Hopper,grace@example.edu,2010-12-09,10",
    ]
).encode()
GOOD_CSV = "\n".join([HEADER, "B0001,Ada,Lovelace,ada@example.edu,2010-12-10,9"]).encode()


async def sign_in(page: Page, base: str, user: User) -> None:
    await page.goto(base + "/")
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/home$"))


async def api_students(app: FastAPI, factory: Factory, user: User) -> list[str]:
    """The student numbers the API lists for the registrar: what was written."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://api") as api:
        r = await api.get("/api/v1/students", headers=factory.headers(user))
        assert r.status_code == 200, r.text
        return sorted(item["student_number"] for item in r.json()["items"])


async def test_a_registrar_previews_a_bad_import_then_imports_a_good_one(
    app: FastAPI, factory: Factory
) -> None:
    school = await factory.school()
    registrar = await factory.user("staff", school)
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await sign_in(page, base, registrar)
        await (
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
        )
        await expect(page.get_by_role("heading", level=1)).to_have_text("Imports")

        await page.get_by_label("What the file holds").select_option("students")
        await page.get_by_label("File", exact=True).set_input_files(
            {"name": "pupils.csv", "mimeType": "text/csv", "buffer": CSV_WITH_A_BAD_ROW}
        )
        await page.get_by_role("button", name="Check the file").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Import preview")
        await expect(page.get_by_role("alert")).to_contain_text(
            "1 error in 1 of 3 rows: nothing can be imported"
        )
        errors_table = page.get_by_role("table", name="Row errors")
        bad_row = errors_table.get_by_role("row").filter(has_text="grade_level")
        await expect(bad_row.get_by_role("cell").nth(0)).to_have_text("3")
        await expect(bad_row.get_by_role("cell").nth(2)).to_have_text("99")
        await expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
        assert await api_students(app, factory, registrar) == []  # nothing written

        await page.get_by_role("link", name="Upload a corrected file").click()
        await page.get_by_label("File", exact=True).set_input_files(
            {"name": "pupils.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}
        )
        await page.get_by_role("button", name="Check the file").click()
        await expect(page.get_by_role("status")).to_contain_text("1 row ready: 1 new")
        assert await api_students(app, factory, registrar) == []  # the preview wrote nothing
        await page.get_by_role("button", name="Import 1 row").click()
        await expect(page.get_by_role("status")).to_contain_text("Imported 1 rows of students")
        assert await api_students(app, factory, registrar) == ["B0001"]
        assert errors == []


async def test_an_export_is_followed_live_to_its_download(app: FastAPI, factory: Factory) -> None:
    school = await factory.school()
    await factory.student(school, last_name="Curie")
    registrar = await factory.user("staff", school)
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, base, registrar)
        await page.goto(base + "/exports")
        await page.get_by_label("What").select_option("students")
        await page.get_by_label("Format").select_option("csv")
        await page.get_by_role("button", name="Start export").click()
        await expect(page).to_have_url(base + "/exports")
        # The row polls (htmx, every second) until the job is done, then shows the link.
        link = page.get_by_role("link", name=re.compile(r"^Download students-.*\.csv$"))
        await expect(link).to_be_visible(timeout=15_000)
        async with page.expect_download() as download_info:
            await link.click()
        download = await download_info.value
        path = await download.path()
        assert "Curie" in path.read_text(encoding="utf-8-sig")


async def test_a_form_without_its_csrf_token_is_refused(app: FastAPI, factory: Factory) -> None:
    school = await factory.school()
    registrar = await factory.user("staff", school)
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, base, registrar)
        await page.goto(base + "/account/password")
        await page.get_by_label("Current password").fill(PASSWORD)
        await page.get_by_label("New password", exact=True).fill("a brand new passphrase")
        await page.get_by_label("Confirm new password").fill("a brand new passphrase")
        # Stripped of its hidden token (as a form posted from another site would be).
        await page.evaluate(
            "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())"
        )
        await page.get_by_role("button", name="Change password").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        await expect(page.get_by_role("alert")).to_contain_text("This form has expired")
        # A request made outside the page, with the cookie but no token: refused too.
        refused = await page.request.post(
            base + "/notifications/read-all", form={"anything": "1"}, max_redirects=0
        )
        assert refused.status == 403
        # The password did not change: it still signs in.
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as api:
            r = await api.post(
                "/api/v1/auth/login", json={"email": registrar.email, "password": PASSWORD}
            )
            assert r.status_code == 200
