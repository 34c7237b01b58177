"""The locks the Makefile installs from (requirements/*.txt) agree with pyproject.toml: a pin
changed in one place and not re-locked (`make lock`) fails here, before an install does."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _declared(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for line in requirements:
        match = PIN.match(line)
        assert match, f"not pinned with ==: {line}"
        pins[_name(match[1])] = match[2]
    return pins


def _locked(path: Path) -> dict[str, str]:
    """name -> version of every requirement in a lock, each checked to carry a hash."""
    pins = {}
    entries = re.split(r"\n(?=\S)", path.read_text())
    for entry in entries:
        match = PIN.match(entry)
        if match is None:
            continue
        assert "--hash=sha256:" in entry, f"{path.name}: {match[1]} has no hash"
        pins[_name(match[1])] = match[2]
    return pins


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = _locked(ROOT / "requirements" / "runtime.txt")
DEV = _locked(ROOT / "requirements" / "dev.txt")


def test_the_runtime_lock_holds_every_dependency_at_its_pinned_version() -> None:
    declared = _declared(PROJECT["dependencies"])
    assert {name: RUNTIME.get(name) for name in declared} == declared


def test_the_dev_lock_holds_the_dev_extra_at_its_pinned_versions() -> None:
    declared = _declared(PROJECT["optional-dependencies"]["dev"])
    assert {name: DEV.get(name) for name in declared} == declared


def test_the_dev_lock_adds_to_the_runtime_lock_and_changes_nothing_in_it() -> None:
    assert {name: DEV.get(name) for name in RUNTIME} == RUNTIME
    assert len(DEV) > len(RUNTIME)


def test_the_dev_tools_stay_out_of_the_runtime_lock() -> None:
    assert not {"pytest", "mypy", "ruff", "schemathesis", "locust", "playwright"} & RUNTIME.keys()
