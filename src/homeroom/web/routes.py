"""The web UI: every room's pages and their assets, all served by Homeroom itself."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from homeroom.web import views
from homeroom.web.attendance import routes as attendance
from homeroom.web.auth import routes as auth
from homeroom.web.gradebook import routes as gradebook
from homeroom.web.sections import routes as sections

# Each room of the UI (web/<room>/routes.py), as the domains have rooms.
ROOMS = (auth, sections, attendance, gradebook)


def add_web_routes(app: FastAPI) -> None:
    assets = StaticFiles(packages=[("homeroom", "static/web")])
    app.mount(views.ASSETS_URL, assets, name="web-assets")
    for room in ROOMS:
        app.include_router(room.router)
