"""Load scenarios: how many virtual users, how fast they arrive, for how long (always bounded)."""

from dataclasses import dataclass
from typing import Literal

ScenarioName = Literal["baseline", "stress", "soak", "spike", "journeys"]
SCENARIOS: tuple[ScenarioName, ...] = ("baseline", "stress", "soak", "spike", "journeys")
MAX_USERS = 2000
SPIKE_SECONDS = 20.0


@dataclass(frozen=True)
class Stage:
    """Until `until` seconds into the run, hold `users` users, adding or removing `spawn_rate`/s."""

    until: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class ScenarioDefaults:
    users: int
    spawn_rate: float
    duration: float
    max_duration: float
    summary: str
    think_time: float = 1.0  # mean seconds between a user's requests; 0 = closed loop
    # The requests each user makes: the school-day mix of bench/README.md, or the
    # competing LMS's own journeys (students: dashboard, courses; teachers: course list;
    # admins: user list).
    workload: Literal["mix", "journeys"] = "mix"


DEFAULTS: dict[ScenarioName, ScenarioDefaults] = {
    "baseline": ScenarioDefaults(50, 10, 60, 600, "a steady school day: 50 users"),
    "stress": ScenarioDefaults(300, 20, 150, 900, "ramps in 5 steps up to 300 users"),
    "soak": ScenarioDefaults(50, 5, 600, 1800, "50 users for a long time (at most 30 min)"),
    "spike": ScenarioDefaults(200, 200, 80, 300, "a tenth of the users, then all at once for 20 s"),
    "journeys": ScenarioDefaults(
        64,
        64,
        60,
        600,
        "the competing LMS's journeys: 64 users, closed loop",
        think_time=0.0,
        workload="journeys",
    ),
}


@dataclass(frozen=True)
class Plan:
    scenario: ScenarioName
    users: int
    spawn_rate: float
    duration: float
    stages: tuple[Stage, ...]
    capped: bool  # the requested duration exceeded the scenario's cap

    def peak_users(self) -> int:
        return max(stage.users for stage in self.stages)


def plan(
    scenario: ScenarioName,
    users: int | None = None,
    spawn_rate: float | None = None,
    duration: float | None = None,
) -> Plan:
    """The stages of `scenario`; `users` is the peak, `duration` is capped by the scenario."""
    defaults = DEFAULTS[scenario]
    peak = min(users or defaults.users, MAX_USERS)
    rate = spawn_rate or defaults.spawn_rate
    wanted = duration if duration is not None else defaults.duration
    total = min(wanted, defaults.max_duration)
    if scenario in ("baseline", "soak", "journeys"):
        stages: tuple[Stage, ...] = (Stage(total, peak, rate),)
    elif scenario == "stress":
        steps = 5
        stages = tuple(
            Stage(total * step / steps, max(1, round(peak * step / steps)), rate)
            for step in range(1, steps + 1)
        )
    else:
        base = max(1, peak // 10)
        spike = min(SPIKE_SECONDS, total / 3)
        start = (total - spike) / 2
        jump = spawn_rate or float(peak)  # the whole spike arrives within a second
        stages = (
            Stage(start, base, rate if spawn_rate else base),
            Stage(start + spike, peak, jump),
            Stage(total, base, jump),
        )
    return Plan(scenario, peak, rate, total, stages, capped=wanted > total)


def users_at(stages: tuple[Stage, ...], elapsed: float) -> tuple[int, float] | None:
    """The (users, spawn rate) target at `elapsed` seconds; None once the last stage is over."""
    for stage in stages:
        if elapsed < stage.until:
            return stage.users, stage.spawn_rate
    return None
