"""Logging the virtual users in before the load starts.

A login costs ~100 ms of server CPU (argon2, by design). Done while users ramp up, a few dozen
of them saturate a small server and the journeys measured beside them look slower than they
are; so every virtual user's session is opened here first, a few at a time, and timed on its
own (the report's setup row). The locustfile hands each user its own session and refreshes it
before it expires (POST /auth/refresh is cheap).
"""

import json
import math
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

MIX = {"student": 80, "teacher": 15, "staff": 5}  # the locustfile's user class weights
CONCURRENT_LOGINS = 4


@dataclass
class Sessions:
    by_role: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The logins in locust's statistics format, so the report treats them like its own.
    entry: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def sessions_needed(peak_users: int) -> dict[str, int]:
    """Enough sessions per role for the peak (locust rounds the 80/15/5 split either way)."""
    return {role: math.ceil(peak_users * weight / 100) + 1 for role, weight in MIX.items()}


def logins_for(role: str, count: int, available: int, staff: list[str]) -> list[str]:
    """`count` logins of `role`, spread over all `available` accounts (distinct while possible)."""
    if role == "staff":
        return [staff[i % len(staff)] for i in range(count)]
    numbers: list[int] = []
    while len(numbers) < count:
        numbers += random.sample(range(1, available + 1), min(available, count - len(numbers)))
    return [f"{role}{n}@example.edu" for n in numbers]


def _login(host: str, email: str, password: str) -> tuple[str, float, dict[str, Any] | None, str]:
    body = json.dumps({"email": email, "password": password}).encode()
    request = urllib.request.Request(  # noqa: S310 (the runner checked the scheme)
        f"{host}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310
            pair: dict[str, Any] = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return email, (time.perf_counter() - started) * 1000, None, f"HTTP {exc.code}"
    except OSError as exc:
        return email, (time.perf_counter() - started) * 1000, None, str(exc)
    elapsed = (time.perf_counter() - started) * 1000
    session = {
        "email": email,
        "access_token": pair["access_token"],
        "refresh_token": pair["refresh_token"],
        "expires_at": time.time() + float(pair["expires_in"]),
    }
    return email, elapsed, session, ""


def rounded_ms(ms: float) -> int:
    """locust's rounding of response times (2 significant digits from 100 ms on)."""
    if ms < 100:
        return round(ms)
    digits = len(str(round(ms))) - 2
    return int(round(ms, -digits))


def open_sessions(
    host: str, password: str, needed: dict[str, int], available: dict[str, int], staff: list[str]
) -> Sessions:
    plan = [
        (role, email)
        for role, count in needed.items()
        for email in logins_for(role, count, available.get(role, 1), staff)
    ]

    def login(item: tuple[str, str]) -> tuple[str, str, float, dict[str, Any] | None, str]:
        role, email = item
        return (role, *_login(host, email, password))

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT_LOGINS) as pool:
        results = list(pool.map(login, plan))
    sessions = Sessions(seconds=time.perf_counter() - started)
    times: Counter[int] = Counter()
    failures: list[str] = []
    for role, email, ms, session, error in results:
        times[rounded_ms(ms)] += 1
        if session is None:
            failures.append(f"{email}: {error}")
            continue
        sessions.by_role.setdefault(role, []).append(session)
    sessions.entry = {
        "method": "POST",
        "name": "/auth/login",
        "num_requests": len(results),
        "num_failures": len(failures),
        "total_response_time": sum(ms for _, _, ms, _, _ in results),
        "max_response_time": max((ms for _, _, ms, _, _ in results), default=0),
        "response_times": dict(times),
        "failed": failures[:20],
    }
    return sessions
