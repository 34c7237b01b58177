"""The teacher's pages in a real browser, found by their accessible names: taking attendance
(and the API shows the records), entering a grade (and the grid shows the new final)."""

import datetime as dt
import re

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Page, expect

from tests.factories import PASSWORD, Factory
from tests.web.browser import chromium, needs_chromium, served
from tests.web.teaching import API, a_class

pytestmark = [pytest.mark.browser, needs_chromium]


async def _sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(base + "/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/home$"))


async def test_a_teacher_takes_attendance_and_the_api_shows_it(
    app: FastAPI, factory: Factory
) -> None:
    world = await a_class(factory)
    ada, ben, cleo = world.students
    today = dt.date.today().isoformat()
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await _sign_in(page, base, world.user.email)
        nav = page.get_by_role("navigation", name="Main")
        await nav.get_by_role("link", name="Attendance").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Attendance")
        await page.get_by_label("Section").select_option(label="BIO101 Biology, section A")
        await expect(page.get_by_label("Date")).to_have_value(today)
        await page.get_by_role("button", name="Take attendance").click()
        await expect(page).to_have_url(re.compile(rf"/sections/{world.section.id}/attendance"))

        ben_row = page.get_by_role("group", name="Attendance of Ben Baker")
        await expect(ben_row.get_by_label("Present")).to_be_checked()  # present by default
        await ben_row.get_by_label("Absent").check()
        await page.get_by_label("Note for Ben Baker").fill("fever")
        await page.get_by_role("button", name="Save attendance").click()
        await expect(page.get_by_role("status")).to_have_text("Attendance saved for 3 students")
        # Editable afterwards: the saved day fills the form.
        await expect(ben_row.get_by_label("Absent")).to_be_checked()
        await expect(page.get_by_label("Note for Ben Baker")).to_have_value("fever")
        assert errors == []

        # The API shows those records, to a bearer token of the API's own login.
        async with httpx.AsyncClient(base_url=base) as api:
            login = await api.post(
                f"{API}/auth/login", json={"email": world.user.email, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            r = await api.get(
                f"{API}/attendance",
                params={"section_id": world.section.id, "date": today},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert r.status_code == 200, r.text
        records = {i["student_id"]: (i["status"], i["note"]) for i in r.json()["items"]}
        assert records == {
            ada.id: ("present", ""),
            ben.id: ("absent", "fever"),
            cleo.id: ("present", ""),
        }


async def test_a_teacher_enters_a_grade_and_the_grid_shows_the_new_final(
    app: FastAPI, factory: Factory
) -> None:
    world = await a_class(factory)
    await factory.grade(world.enrollments[0], world.quiz, 9.0)  # Ada: 90% of homework
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await _sign_in(page, base, world.user.email)
        await (
            page.get_by_role("navigation", name="Main")
            .get_by_role("link", name="Gradebook")
            .click()
        )
        await page.get_by_label("Section").select_option(label="BIO101 Biology, section A")
        await page.get_by_role("button", name="Open gradebook").click()
        await expect(page).to_have_url(re.compile(rf"/sections/{world.section.id}/gradebook$"))

        ada_row = page.get_by_role("row", name=re.compile("Adams, Ada"))
        await expect(ada_row.get_by_role("cell").nth(-2)).to_have_text("90.00")
        score = page.get_by_label("Score of Ada Adams on Midterm")
        await expect(score).to_have_value("")
        await score.fill("40")
        await page.get_by_role("button", name="Save scores").click()
        await expect(page.get_by_role("status")).to_have_text("Scores saved: 1 change")
        # 0.4 * 90% + 0.6 * 80% = 84.00%, a B.
        await expect(ada_row.get_by_role("cell").nth(-2)).to_have_text("84.00")
        await expect(ada_row.get_by_role("cell").nth(-1)).to_have_text("B")
        await expect(page.get_by_label("Score of Ada Adams on Midterm")).to_have_value("40")

        # A score above the assessment's points: the browser holds the form back (the
        # server's own check, role="alert", is tests/web/test_gradebook.py's).
        ben_quiz = page.get_by_label("Score of Ben Baker on Quiz 1")
        await ben_quiz.fill("12")
        await page.get_by_role("button", name="Save scores").click()
        assert await ben_quiz.evaluate("input => input.validity.rangeOverflow") is True
        await expect(page.get_by_role("status")).to_have_text("Scores saved: 1 change")
        assert errors == []
