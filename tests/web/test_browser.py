"""The web UI in a real browser, found by the accessible names the README lists."""

import re

import pytest
from fastapi import FastAPI
from playwright.async_api import expect

from tests.factories import PASSWORD, Factory
from tests.web.browser import chromium, needs_chromium, served

pytestmark = [pytest.mark.browser, needs_chromium]


async def test_a_teacher_signs_in_and_out(app: FastAPI, factory: Factory) -> None:
    school = await factory.school()
    teacher = await factory.teacher(school, with_login=True)
    user = await factory.user_of(teacher)
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto(base + "/")
        await page.get_by_label("Email").fill(user.email)
        await page.get_by_label("Password").fill("not the password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("Incorrect email or password")

        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(re.compile(r"/home$"))
        await expect(page.get_by_role("heading", level=1)).to_contain_text(user.full_name)
        nav = page.get_by_role("navigation", name="Main")
        await expect(nav.get_by_role("link", name="Home")).to_be_visible()
        sign_out = nav.get_by_role("link", name="Sign out")
        await expect(sign_out).to_be_visible()
        assert await page.evaluate("typeof htmx") == "object"  # loaded under the CSP

        await sign_out.click()
        await expect(page).to_have_url(base + "/")
        await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        await page.goto(base + "/home")  # the session is over
        await expect(page).to_have_url(base + "/")
        # No CSP violation, no missing asset: only the wrong password's own 401.
        assert [e for e in errors if "status of 401" not in e] == []
