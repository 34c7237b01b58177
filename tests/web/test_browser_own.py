"""A guardian's pages in a real browser: their children's grades, one child after the other,
and nobody else's."""

import re

import pytest
from fastapi import FastAPI
from playwright.async_api import expect

from tests.factories import PASSWORD, Factory
from tests.web.browser import chromium, needs_chromium, served
from tests.web.own import World, make_world

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
async def world(factory: Factory) -> World:
    return await make_world(factory)


async def test_a_guardian_switches_between_their_children_and_no_one_else(
    app: FastAPI,
    factory: Factory,
    world: World,
) -> None:
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto(base + "/")
        await page.get_by_label("Email").fill(world.guardian_email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(re.compile(r"/home$"))

        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Grades").click()
        await expect(page).to_have_url(base + "/my/grades")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Grades")
        await expect(page.get_by_text("Ada Lovelace · grade 9")).to_be_visible()
        child = page.get_by_label("Child")
        await expect(child).to_have_value(str(world.ada.id))
        math = page.get_by_role("article", name="MATH9 Algebra")
        await expect(math.locator(".final")).to_have_text("76.00%")
        await expect(math.locator(".letter")).to_have_text("C")

        await child.select_option(label="Ben Lovelace")
        await page.get_by_role("button", name="Show").click()
        await expect(page).to_have_url(f"{base}/my/grades?student={world.ben.id}")
        await expect(page.get_by_text("Ben Lovelace · grade 9")).to_be_visible()
        await expect(page.get_by_label("Child")).to_have_value(str(world.ben.id))
        math = page.get_by_role("article", name="MATH9 Algebra")
        await expect(math.locator(".final")).to_have_text("100.00%")
        await expect(math.locator(".letter")).to_have_text("A")
        midterm = math.get_by_role("row", name=re.compile("Midterm"))
        await expect(midterm).to_contain_text("50 / 50")
        await expect(page.get_by_role("article", name="HIST9 World History")).to_have_count(0)

        # The child's own links keep the child.
        pages = page.get_by_role("navigation", name="Ben Lovelace's pages")
        await pages.get_by_role("link", name="Attendance").click()
        await expect(page).to_have_url(f"{base}/my/attendance?student={world.ben.id}")
        await expect(page.get_by_text("No days missed.")).to_be_visible()

        # A student who is not their child: the 404 page, without the student's name.
        response = await page.goto(f"{base}/my/grades?student={world.cleo.id}")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        await expect(page.get_by_role("alert")).to_contain_text("student not found")
        assert "Cleo" not in await page.content()
        assert [e for e in errors if "status of 404" not in e] == []
