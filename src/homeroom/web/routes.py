"""The web UI: every room's pages and their assets, all served by Homeroom itself."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from homeroom.web import views
from homeroom.web.account import routes as account
from homeroom.web.attendance import routes as attendance
from homeroom.web.auth import routes as auth
from homeroom.web.dashboard import routes as dashboard
from homeroom.web.exports import routes as exports
from homeroom.web.gradebook import routes as gradebook
from homeroom.web.imports import routes as imports
from homeroom.web.my import routes as my
from homeroom.web.notifications import routes as notifications
from homeroom.web.sections import routes as sections
from homeroom.web.students import routes as students
from homeroom.web.users import routes as users

# Each room of the UI (web/<room>/routes.py), as the domains have rooms.
ROOMS = (
    auth,
    sections,
    attendance,
    gradebook,
    my,
    dashboard,
    students,
    imports,
    exports,
    users,
    notifications,
    account,
)


def add_web_routes(app: FastAPI) -> None:
    assets = StaticFiles(packages=[("homeroom", "static/web")])
    app.mount(views.ASSETS_URL, assets, name="web-assets")
    for room in ROOMS:
        app.include_router(room.router)
