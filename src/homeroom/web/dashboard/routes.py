"""The school dashboard of the registrar and the administrator: the analytics service's
dashboard (served from its cache until anything of the school is written) drawn as inline
SVG charts, each with its figures in a table.

The figures' HTML is a function of the cached dashboard's bytes alone (and of the school
picker's choices), so it is kept per process under the bytes' ETag: a cache hit of the
dashboard is then a hit of its HTML too (drawing it costs ~100 times what reading it from the
cache does). A write changes the bytes, so their ETag, so the HTML is drawn anew.
"""

from collections import OrderedDict
from typing import Any

import orjson
from fastapi import Request, Response
from markupsafe import Markup

from homeroom.analytics import service as analytics_service
from homeroom.analytics.schemas import DashboardQuery
from homeroom.enums import LETTERS
from homeroom.kit.auth import can
from homeroom.kit.deps import DB, PageCache
from homeroom.kit.errors import Forbidden
from homeroom.schools import service as school_service
from homeroom.web import views
from homeroom.web.dashboard import charts
from homeroom.web.pages import Visitor, render, web_router

router = web_router()

PAGE = "/dashboard"
MAX_ID = 2**31 - 1
DRAWN_KEPT = 64  # dashboards' HTML kept per process (a few schools x today's versions)

Drawn = tuple[str, int | None, tuple[tuple[int, str], ...]]
_drawn: OrderedDict[Drawn, Markup] = OrderedDict()


def school_param(raw: str | None) -> int | None:
    """The `school` the page was asked for: an id, or None (not given, empty, or no id at
    all: the picker's "All schools")."""
    if raw is None or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def _percent(rate: float | None) -> str:
    return "no records" if rate is None else f"{rate:.0%}"


def attendance_chart(trend: list[dict[str, Any]]) -> Markup:
    points = [(str(day["date"])[5:], day["rate"]) for day in trend]
    if trend:
        first, last = trend[0], trend[-1]
        description = (
            f"Attendance rate on the last {len(trend)} school days with attendance taken: "
            f"{_percent(first['rate'])} on {first['date']}, "
            f"{_percent(last['rate'])} on {last['date']}."
        )
    else:
        description = "No attendance has been taken yet."
    return charts.line_chart("attendance-trend", "Attendance trend", description, points)


def letter_counts(grades_by_course: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Final letters over every course of the school, A to F."""
    totals = dict.fromkeys(LETTERS, 0)
    for course in grades_by_course:
        for letter, count in course["letters"].items():
            totals[letter] = totals.get(letter, 0) + int(count)
    return list(totals.items())


def letters_chart(letters: list[tuple[str, int]]) -> Markup:
    graded = sum(count for _, count in letters)
    if graded:
        shares = ", ".join(f"{letter}: {count}" for letter, count in letters)
        description = f"Final grades by letter over {graded} graded enrollments: {shares}."
    else:
        description = "No final grades yet."
    return charts.bar_chart("letter-distribution", "Letter distribution", description, letters)


@router.get(PAGE)
async def dashboard(
    request: Request, visit: Visitor, db: DB, pages: PageCache, school: str | None = None
) -> Response:
    """The school at a glance: attendance trend, letters, students at risk."""
    principal = visit.principal
    if not can(principal, "analytics:school"):
        raise Forbidden("the dashboard is the registrar's and the administrator's")
    schools: list[dict[str, Any]] = []
    chosen = None
    if principal.school_id is None:  # an administrator of every school picks one, or all
        schools = await school_service.list_schools(db, principal)
        chosen = school_param(school)
    query = DashboardQuery(school_id=chosen)
    etag, body = await analytics_service.dashboard_cached(db, pages, principal, query)
    key = (etag, chosen, tuple((school["id"], school["name"]) for school in schools))
    figures_html = _drawn.get(key)
    if figures_html is None:
        figures_html = draw(orjson.loads(body), schools, chosen)
        _drawn[key] = figures_html
        if len(_drawn) > DRAWN_KEPT:
            _drawn.popitem(last=False)
    else:
        _drawn.move_to_end(key)
    context = {"title": "Dashboard", "figures_html": figures_html}
    return render(request, visit, "dashboard/dashboard.html", context, current=PAGE)


def draw(figures: dict[str, Any], schools: list[dict[str, Any]], chosen: int | None) -> Markup:
    """The dashboard's content: the picker, the figures, the charts and their tables."""
    trend = figures["attendance"]["trend"]
    letters = letter_counts(figures["grades_by_course"])
    context = {
        "figures": figures,
        "schools": schools,
        "chosen": chosen,
        "trend": trend,
        "trend_chart": attendance_chart(trend),
        "letters": letters,
        "letters_chart": letters_chart(letters),
        "at_risk": figures["at_risk"],
    }
    return Markup(views.templates.get_template("dashboard/figures.html").render(context))  # noqa: S704 (a template of ours, autoescaped)
