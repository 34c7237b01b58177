"""Scenarios: stages of users over time, always bounded; the target host is loopback only."""

import pytest

from homeroom.loadtest.runner import LoadTestError, check_host
from homeroom.loadtest.scenarios import (
    DEFAULTS,
    MAX_USERS,
    ScenarioName,
    Stage,
    plan,
    users_at,
)


class TestPlan:
    def test_baseline_is_steady(self) -> None:
        p = plan("baseline")
        assert p.stages == (Stage(60, 50, 10),)
        assert not p.capped

    def test_options_override_the_defaults(self) -> None:
        assert plan("baseline", users=10, spawn_rate=5, duration=8).stages == (Stage(8, 10, 5),)

    @pytest.mark.parametrize("scenario", ["baseline", "stress", "soak", "spike", "journeys"])
    def test_every_scenario_is_capped(self, scenario: ScenarioName) -> None:
        p = plan(scenario, duration=10_000)
        assert p.capped
        assert p.duration == DEFAULTS[scenario].max_duration
        assert p.stages[-1].until == p.duration

    def test_soak_lasts_at_most_half_an_hour(self) -> None:
        assert plan("soak", duration=3600).duration == 1800

    def test_users_are_capped(self) -> None:
        assert plan("baseline", users=10**6).peak_users() == MAX_USERS

    def test_stress_ramps_up_to_the_peak(self) -> None:
        p = plan("stress", duration=100)
        users = [stage.users for stage in p.stages]
        assert users == [60, 120, 180, 240, 300]
        assert [stage.until for stage in p.stages] == [20, 40, 60, 80, 100]

    def test_spike_jumps_for_twenty_seconds_and_recovers(self) -> None:
        p = plan("spike", duration=80)
        assert [(s.until, s.users) for s in p.stages] == [(30, 20), (50, 200), (80, 20)]
        assert p.stages[1].spawn_rate == 200  # the whole spike arrives within a second

    def test_journeys_are_64_users_at_once_in_a_closed_loop(self) -> None:
        p = plan("journeys")
        assert p.stages == (Stage(60, 64, 64),)
        assert DEFAULTS["journeys"].think_time == 0 and DEFAULTS["journeys"].workload == "journeys"
        assert plan("journeys", users=8, duration=5).stages == (Stage(5, 8, 64),)
        assert all(
            DEFAULTS[s].think_time == 1 and DEFAULTS[s].workload == "mix"
            for s in ("baseline", "stress", "soak", "spike")
        )

    def test_a_short_spike_stays_inside_the_run(self) -> None:
        p = plan("spike", duration=9)
        assert [(s.until, s.users) for s in p.stages] == [(3, 20), (6, 200), (9, 20)]


class TestUsersAt:
    def test_follows_the_stages_then_stops(self) -> None:
        stages = plan("spike", duration=80).stages
        assert users_at(stages, 0) == (20, 20)
        assert users_at(stages, 35) == (200, 200)
        assert users_at(stages, 79.9) == (20, 200)
        assert users_at(stages, 80) is None


class TestHost:
    @pytest.mark.parametrize(
        "host",
        ["http://127.0.0.1:8000/", "http://127.9.0.1", "http://localhost:9000", "http://[::1]:80"],
    )
    def test_loopback_is_allowed(self, host: str) -> None:
        assert check_host(host, allow_remote=False) == host.rstrip("/")

    @pytest.mark.parametrize(
        "host",
        ["http://10.0.0.5:8000", "http://192.168.1.2", "https://example.com", "http://0.0.0.0"],
    )
    def test_anything_else_needs_allow_remote(self, host: str) -> None:
        with pytest.raises(LoadTestError, match="only loopback"):
            check_host(host, allow_remote=False)
        assert check_host(host, allow_remote=True) == host

    @pytest.mark.parametrize("host", ["127.0.0.1:8000", "ftp://127.0.0.1", "http://"])
    def test_not_an_http_url(self, host: str) -> None:
        with pytest.raises(LoadTestError, match="http"):
            check_host(host, allow_remote=True)
