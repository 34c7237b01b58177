"""/docs and /redoc work on a closed network: every asset comes from the server itself."""

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import httpx
import pytest

import homeroom
from homeroom.kit.docs import ASSETS_URL

STATIC_DOCS = Path(homeroom.__file__).parent / "static" / "docs"
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _referenced(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


class TestDocsPages:
    @pytest.mark.parametrize(
        ("page", "script", "marker"),
        [
            ("/docs", "swagger-ui-bundle.js", "SwaggerUIBundle"),
            ("/redoc", "redoc.standalone.js", "Redoc"),
        ],
    )
    async def test_page_loads_everything_from_the_server(
        self, client: httpx.AsyncClient, page: str, script: str, marker: str
    ) -> None:
        r = await client.get(page)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "http://" not in r.text and "https://" not in r.text
        assert "//" not in "".join(_referenced(r.text))  # no protocol-relative URL either
        assert f"{ASSETS_URL}/{script}" in _referenced(r.text)
        assert "'/openapi.json'" in r.text or '"/openapi.json"' in r.text
        for url in _referenced(r.text):
            asset = await client.get(url)
            assert asset.status_code == 200, url
            suffix = Path(url).suffix
            assert asset.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
            assert asset.content == (STATIC_DOCS / Path(url).name).read_bytes()
        js = await client.get(f"{ASSETS_URL}/{script}")
        assert marker in js.text

    async def test_swagger_ui_asks_no_outside_validator(self, client: httpx.AsyncClient) -> None:
        assert '"validatorUrl": null' in (await client.get("/docs")).text

    async def test_oauth2_redirect_page_is_served(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/docs/oauth2-redirect")
        assert r.status_code == 200
        assert "http://" not in r.text and "https://" not in r.text

    async def test_docs_routes_stay_out_of_the_openapi_document(
        self, client: httpx.AsyncClient
    ) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert not [p for p in paths if p.startswith(("/docs", "/redoc", "/static"))]

    async def test_an_unknown_asset_is_a_404(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(f"{ASSETS_URL}/nothing.js")).status_code == 404
        assert (await client.get(f"{ASSETS_URL}/../config.py")).status_code == 404


def test_every_vendored_file_is_package_data() -> None:
    """A wheel carries the assets only if pyproject's package-data names them."""
    patterns = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"][
        "homeroom"
    ]
    root = STATIC_DOCS.parents[1]
    files = [p.relative_to(root).as_posix() for p in STATIC_DOCS.iterdir() if p.is_file()]
    assert {"static/docs/swagger-ui-bundle.js", "static/docs/redoc.standalone.js"} <= set(files)
    assert [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)] == []
