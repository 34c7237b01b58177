"""The web UI's assets are served by Homeroom itself, with their types, and are the vendored
files this repository records."""

import hashlib
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import httpx
import pytest

import homeroom
from homeroom.web.views import ASSETS_URL

PACKAGE = Path(homeroom.__file__).parent
STATIC_WEB = PACKAGE / "static" / "web"
TEMPLATES = PACKAGE / "web" / "templates"
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


class TestAssets:
    @pytest.mark.parametrize(
        ("name", "content_type"),
        [
            ("htmx.min.js", "text/javascript"),
            ("homeroom.css", "text/css"),
            ("favicon.svg", "image/svg+xml"),
        ],
    )
    async def test_served_with_their_type(
        self, client: httpx.AsyncClient, name: str, content_type: str
    ) -> None:
        r = await client.get(f"{ASSETS_URL}/{name}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(content_type)
        assert r.content == (STATIC_WEB / name).read_bytes()

    async def test_the_pages_load_them_from_here(self, client: httpx.AsyncClient) -> None:
        html = (await client.get("/")).text
        refs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert f"{ASSETS_URL}/htmx.min.js" in refs and f"{ASSETS_URL}/homeroom.css" in refs
        for ref in refs:
            assert ref.startswith("/") and not ref.startswith("//"), ref

    async def test_an_unknown_asset_is_a_404(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(f"{ASSETS_URL}/nothing.js")).status_code == 404
        assert (await client.get(f"{ASSETS_URL}/%2e%2e/%2e%2e/config.py")).status_code == 404


def test_htmx_is_the_recorded_release() -> None:
    versions = (STATIC_WEB / "VERSIONS.md").read_text()
    recorded = re.search(r"^([0-9a-f]{64})  htmx\.min\.js$", versions, re.MULTILINE)
    assert recorded, "VERSIONS.md records no sha256 of htmx.min.js"
    served = (STATIC_WEB / "htmx.min.js").read_bytes()
    assert hashlib.sha256(served).hexdigest() == recorded[1]
    assert re.search(r"`htmx\.org@2\.0\.\d+`", versions)
    assert (STATIC_WEB / "htmx.LICENSE").read_text().startswith("Zero-Clause BSD")


def test_every_asset_and_template_is_package_data() -> None:
    """A wheel carries them only if pyproject's package-data names them."""
    patterns = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"][
        "homeroom"
    ]
    files = [
        p.relative_to(PACKAGE).as_posix()
        for folder in (STATIC_WEB, TEMPLATES)
        for p in folder.rglob("*")
        if p.is_file()
    ]
    assert {"static/web/htmx.min.js", "web/templates/auth/sign_in.html"} <= set(files)
    assert [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)] == []
