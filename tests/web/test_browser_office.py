"""The office's pages in a real browser, found by their accessible names."""

import re

import pytest
from fastapi import FastAPI
from playwright.async_api import Page, expect

from tests.factories import PASSWORD, Factory
from tests.web.browser import chromium, needs_chromium, served
from tests.web.office import email_of, office

pytestmark = [pytest.mark.browser, needs_chromium]


async def sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(base + "/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/home$"))


async def test_a_registrar_finds_a_student_and_edits_them(app: FastAPI, factory: Factory) -> None:
    world = await office(factory, app)
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await sign_in(page, base, await email_of(factory, world.staff))
        nav = page.get_by_role("navigation", name="Main")

        await nav.get_by_role("link", name="Dashboard").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
        for chart in ("Attendance trend", "Letter distribution"):
            await expect(page.get_by_role("img", name=chart)).to_be_visible()
        await expect(page.get_by_role("table", name="Students at risk")).to_contain_text("Lovelace")

        await nav.get_by_role("link", name="Students").click()
        await page.get_by_label("Search").fill("turing")
        await page.get_by_role("button", name="Search").click()
        table = page.get_by_role("table", name=re.compile("Students matching"))
        await expect(table).to_contain_text("1 found")
        await table.get_by_role("link", name="Turing, Alan").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Alan Turing")

        await page.get_by_role("link", name="Edit student").click()
        await page.get_by_label("First name").fill("Alan Mathison")
        await page.get_by_label("Grade level").select_option("10")
        await page.get_by_role("button", name="Save student").click()
        await expect(page.get_by_role("status")).to_have_text("Changes saved.")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Alan Mathison Turing")

        r = await page.request.get(
            f"{base}/api/v1/students/{world.other.id}", headers=factory.headers(world.staff)
        )
        saved = await r.json()
        assert (saved["first_name"], saved["grade_level"]) == ("Alan Mathison", 10)
        assert errors == []  # no CSP violation, no missing asset


async def test_a_student_cannot_open_another_students_page(app: FastAPI, factory: Factory) -> None:
    world = await office(factory, app)
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, base, await email_of(factory, world.student))
        await page.goto(f"{base}/students/{world.student.id}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
        response = await page.goto(f"{base}/students/{world.other.id}")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        await expect(page.get_by_role("alert")).to_contain_text("student not found")
        await expect(page.get_by_text("Turing")).to_have_count(0)
