"""Demo and benchmark data (`homeroom seed`): a deterministic school written with bulk inserts.

plan.py decides every row (pure Python, seeded), repository.py streams the rows into SQLite or
PostgreSQL through the raw drivers (every statement of the seed), runner.py ties them together
for the CLI.
"""
