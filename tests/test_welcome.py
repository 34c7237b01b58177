"""What `homeroom serve` prints once it answers."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from homeroom.welcome import announce_when_up, base_url, where_to_go
from tests.live import free_port


class TestBaseUrl:
    @pytest.mark.parametrize(
        ("host", "expected"),
        [
            ("127.0.0.1", "http://127.0.0.1:8000"),
            ("0.0.0.0", "http://127.0.0.1:8000"),  # noqa: S104
            ("school.example", "http://school.example:8000"),
            ("::", "http://[::1]:8000"),
            ("::1", "http://[::1]:8000"),
        ],
    )
    def test_a_browser_can_open_it(self, host: str, expected: str) -> None:
        assert base_url(host, 8000) == expected


class TestWhereToGo:
    def test_names_the_address_the_sign_in_page_and_both_docs(self) -> None:
        text = where_to_go("http://127.0.0.1:8000", demo_school=False)
        assert "Sign in    http://127.0.0.1:8000/ " in text
        assert "http://127.0.0.1:8000/docs" in text
        assert "http://127.0.0.1:8000/redoc" in text
        assert "example.edu" not in text

    def test_lists_the_demo_logins_when_the_demo_school_is_there(self) -> None:
        text = where_to_go("http://127.0.0.1:8000", demo_school=True)
        for login in ("admin@example.edu", "registrar@example.edu", "teacher1@example.edu"):
            assert login in text
        assert "homeroom" in text.split("Demo logins", 1)[1]


class _Healthz(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def healthz() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class TestAnnounceWhenUp:
    def test_prints_once_the_server_answers(self, healthz: ThreadingHTTPServer) -> None:
        printed: list[str] = []
        base = f"http://127.0.0.1:{healthz.server_address[1]}"
        announce_when_up(base, "welcome", printed.append, timeout=30).join(30)
        assert printed == ["welcome"]

    def test_prints_nothing_when_nothing_answers(self) -> None:
        printed: list[str] = []
        base = f"http://127.0.0.1:{free_port()}"
        announce_when_up(base, "welcome", printed.append, timeout=0.5).join(10)
        assert printed == []

    def test_ignores_a_proxy_from_the_environment(
        self, healthz: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
        printed: list[str] = []
        base = f"http://127.0.0.1:{healthz.server_address[1]}"
        announce_when_up(base, "welcome", printed.append, timeout=30).join(30)
        assert printed == ["welcome"]
