"""What `homeroom serve` prints once it answers: where to go (the address, the sign-in page,
the API docs and, when the database holds the demo school, its logins)."""

import threading
import time
import urllib.request
from collections.abc import Callable

from homeroom.seed.plan import Logins
from homeroom.seed.runner import login_lines


def base_url(host: str, port: int) -> str:
    """The address to open in a browser: a wildcard bind is reached on the loopback."""
    if host in ("", "0.0.0.0"):  # noqa: S104 (recognised, not bound)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def where_to_go(base: str, demo_school: bool) -> str:
    lines = [
        f"Homeroom is up: {base}",
        f"  Sign in    {base}/ (the web UI)",
        f"  API docs   {base}/docs (Swagger UI), {base}/redoc (ReDoc)",
        f"  OpenAPI    {base}/openapi.json",
    ]
    if demo_school:
        lines.append(
            "Demo logins (password `homeroom`, or the --password given to `homeroom seed`):"
        )
        lines += login_lines(Logins())
    lines.append("Ctrl-C stops the server.")
    return "\n".join(lines)


def announce_when_up(
    base: str, message: str, echo: Callable[[str], object], timeout: float = 300.0
) -> threading.Thread:
    """Prints `message` once GET {base}/healthz answers 200, from a daemon thread (the server
    runs in the foreground); prints nothing if it never does within `timeout` seconds."""
    # Straight to the server, never through an HTTP(S)_PROXY from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def wait() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with opener.open(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        echo(message)
                        return
            except OSError:  # not listening yet (URLError is an OSError)
                pass
            time.sleep(0.2)

    thread = threading.Thread(target=wait, name="homeroom-welcome", daemon=True)
    thread.start()
    return thread
