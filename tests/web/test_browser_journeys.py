"""Journeys that cross the roles' pages in a real browser: what a teacher enters is what the
student sees, at once (the never-stale rule, through the web UI)."""

import re

import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, Page, expect

from tests.factories import PASSWORD, Factory
from tests.web.browser import chromium, needs_chromium, served

pytestmark = [pytest.mark.browser, needs_chromium]


async def _signed_in(browser: Browser, base: str, email: str) -> Page:
    """A page of a browser context of its own (its own cookies), signed in as `email`."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(base + "/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/home$"))
    return page


async def test_a_grade_a_teacher_enters_is_the_students_new_final(
    app: FastAPI, factory: Factory
) -> None:
    school = await factory.school()
    term = await factory.term(school, name="Fall 2026")
    course = await factory.course(term, code="CHEM1", title="Chemistry")
    teacher = await factory.teacher(school, with_login=True)
    section = await factory.section(course, teacher, name="A")
    ada = await factory.student(school, with_login=True, first_name="Ada", last_name="Adams")
    enrollment = await factory.enroll(ada, section)
    tests = await factory.category(section, "Tests", 100.0)
    quiz = await factory.assessment(section, tests, title="Quiz", max_points=10.0)
    await factory.assessment(section, tests, title="Midterm", max_points=50.0)
    await factory.grade(enrollment, quiz, 10.0)  # 10 of 10 so far: 100.00%, an A
    teacher_email = (await factory.user_of(teacher)).email
    student_email = (await factory.user_of(ada)).email

    async with served(app) as base, chromium() as browser:
        student = await _signed_in(browser, base, student_email)
        nav = student.get_by_role("navigation", name="Main")
        await nav.get_by_role("link", name="Grades").click()
        card = student.get_by_role("article", name="CHEM1 Chemistry")
        await expect(card.locator("dd.final")).to_contain_text("100.00")
        await expect(card.locator("dd.letter")).to_have_text("A")

        teacher_page = await _signed_in(browser, base, teacher_email)
        await teacher_page.goto(f"{base}/sections/{section.id}/gradebook")
        await teacher_page.get_by_label("Score of Ada Adams on Midterm").fill("35")
        await teacher_page.get_by_role("button", name="Save scores").click()
        await expect(teacher_page.get_by_role("status")).to_have_text("Scores saved: 1 change")

        # (10 + 35) / (10 + 50) = 75.00%, a C: on the student's page at the next load.
        await student.reload()
        await expect(card.locator("dd.final")).to_contain_text("75.00")
        await expect(card.locator("dd.letter")).to_have_text("C")
