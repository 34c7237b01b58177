"""cache versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cache_versions",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tag", name=op.f("pk_cache_versions")),
    )


def downgrade() -> None:
    op.drop_table("cache_versions")
