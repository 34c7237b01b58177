"""The district dataset every benchmark shares: `bench/out/students-50000.db` (git-ignored),
seeded by `reads.sqlite_dataset` on first use (50,000 students, password `bench`)."""

import os
from pathlib import Path

PATH = Path(__file__).resolve().parent / "out" / "students-50000.db"


def district_path() -> Path:
    """The dataset's path, seeding it first when it is not there yet (a few minutes)."""
    if not PATH.exists():
        from reads import sqlite_dataset

        sqlite_dataset(50_000, dict(os.environ))
    return PATH
