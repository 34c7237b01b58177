"""Demo and benchmark data (`homeroom seed`): a deterministic school written with bulk inserts.

plan.py decides every row (pure Python, seeded), writers.py streams the rows into SQLite or
PostgreSQL through the raw drivers, runner.py ties them together for the CLI.
"""
