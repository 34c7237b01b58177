"""The API docs pages, /docs (Swagger UI) and /redoc (ReDoc), with every script, stylesheet
and icon served from the installation.

FastAPI's stock pages load Swagger UI and ReDoc from a CDN and Google Fonts, so they stay
blank on a closed network (schools' often are). The files under `homeroom/static/docs` are
the npm packages' own, unchanged; `VERSIONS.md` there says which releases and how to update.
"""

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/static/docs"

# Swagger UI would otherwise show a badge fetched from validator.swagger.io.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def add_docs_routes(app: FastAPI) -> None:
    """Serves /docs, /redoc and their assets; create the app with docs_url=redoc_url=None.
    Plain routes, as FastAPI adds its own docs pages: they are not API routes."""
    assert app.docs_url is None and app.redoc_url is None, "FastAPI's CDN pages are still on"
    openapi_url = app.openapi_url
    assert openapi_url is not None
    app.mount(ASSETS_URL, StaticFiles(packages=[("homeroom", "static/docs")]), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon-32x32.png",
            with_google_fonts=False,
        )

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_URL, swagger_ui_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
