"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets generated valid and invalid inputs as a logged-in admin of a seeded demo
school. Two properties must hold: no 5xx, ever; and every documented success response matches
the schema OpenAPI declares (the schema is the truth clients generate code from).
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.live import run_cli, serving, sqlite_env



@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    env = sqlite_env(tmp_path_factory.mktemp("fuzz"))
    seeded = run_cli(["seed", "--students", "40", "--password", "fuzz-pass", "--quiet"], env)
    assert seeded.returncode == 0, seeded.stderr
    with serving(env, workers=1) as base:
        token = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": "admin@example.edu", "password": "fuzz-pass"},
        ).json()["access_token"]
        yield base, {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def api_schema(live: tuple[str, dict[str, str]]) -> schemathesis.BaseSchema:
    base, _ = live
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


# Logging out would end the fuzzer's own session and turn every later case into a 401.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(
    method="POST", path="/api/v1/auth/logout"
)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_truthful_schema(
    case: schemathesis.Case, live: tuple[str, dict[str, str]]
) -> None:
    base, auth = live
    case.call_and_validate(
        base_url=base,
        headers=auth,
        checks=[not_a_server_error, response_schema_conformance],
    )
