"""Sessions opened before the load: how many per role, spread over the seeded accounts."""

import pytest

from homeroom.loadtest.results import merge_entries, summarize
from homeroom.loadtest.sessions import logins_for, rounded_ms, sessions_needed


class TestSessionsNeeded:
    @pytest.mark.parametrize(
        ("users", "needed"),
        [
            (1, {"student": 2, "teacher": 2, "staff": 2}),
            (10, {"student": 9, "teacher": 3, "staff": 2}),
            (50, {"student": 41, "teacher": 9, "staff": 4}),
            (300, {"student": 241, "teacher": 46, "staff": 16}),
        ],
    )
    def test_covers_the_mix_at_the_peak(self, users: int, needed: dict[str, int]) -> None:
        assert sessions_needed(users) == needed
        assert sum(needed.values()) >= users


class TestLoginsFor:
    def test_distinct_accounts_while_there_are_enough(self) -> None:
        emails = logins_for("student", 50, 2000, [])
        assert len(set(emails)) == 50
        assert all(e.startswith("student") and e.endswith("@example.edu") for e in emails)
        numbers = {int(e.removeprefix("student").split("@")[0]) for e in emails}
        assert numbers <= set(range(1, 2001)) and max(numbers) > 100  # spread, not 1..50

    def test_reuses_accounts_beyond_the_school(self) -> None:
        emails = logins_for("teacher", 7, 3, [])
        assert len(emails) == 7
        assert set(emails) == {f"teacher{n}@example.edu" for n in (1, 2, 3)}

    def test_staff_alternate_between_the_logins_that_worked(self) -> None:
        assert logins_for("staff", 3, 0, ["a@x", "r@x"]) == ["a@x", "r@x", "a@x"]


@pytest.mark.parametrize(
    ("ms", "rounded"), [(0.4, 0), (7.6, 8), (99.4, 99), (123.4, 120), (1234.0, 1200), (2650, 2600)]
)
def test_rounded_like_locust(ms: float, rounded: int) -> None:
    assert rounded_ms(ms) == rounded


def login_entry(times: dict[int, int], failures: int = 0) -> dict[str, object]:
    return {
        "method": "POST",
        "name": "/auth/login",
        "num_requests": sum(times.values()),
        "num_failures": failures,
        "total_response_time": sum(ms * n for ms, n in times.items()),
        "max_response_time": max(times),
        "response_times": times,
    }


class TestSetupRows:
    def test_the_runners_logins_join_the_users_own(self) -> None:
        merged = merge_entries([login_entry({100: 3}), login_entry({200: 1}, failures=1)])
        assert len(merged) == 1
        assert merged[0]["num_requests"] == 4 and merged[0]["num_failures"] == 1
        assert merged[0]["response_times"] == {100: 3, 200: 1}
        assert merged[0]["max_response_time"] == 200

    def test_setup_rate_is_over_the_login_phase(self) -> None:
        dump = {"started": 0, "stopped": 100, "entries": [], "errors": []}
        summary = summarize(dump, [login_entry({120: 40})], setup_seconds=4)
        assert summary["setup"][0]["rps"] == 10.0
        assert summary["overall"]["requests"] == 0 and summary["endpoints"] == []
