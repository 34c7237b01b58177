from typing import Any

import pytest
from sqlalchemy import Connection, UniqueConstraint, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import selectinload

from homeroom.kit.db import Database
from homeroom.models import Base, Enrollment
from homeroom.models.search import include_name
from tests.factories import Factory


class TestRelationships:
    def test_every_relationship_raises_instead_of_lazy_loading(self) -> None:
        for mapper in Base.registry.mappers:
            for rel in mapper.relationships:
                assert rel.lazy == "raise", f"{mapper.class_.__name__}.{rel.key}"

    async def test_an_unloaded_relationship_raises(self, factory: Factory, db: Database) -> None:
        school = await factory.school()
        section = await factory.section(await factory.course(await factory.term(school)), None)
        await factory.enroll(await factory.student(school), section)
        async with db.sessionmaker() as session:
            enrollment = (await session.scalars(select(Enrollment))).one()
            with pytest.raises(InvalidRequestError, match="lazy='raise'"):
                _ = enrollment.student
            loaded = (
                await session.scalars(select(Enrollment).options(selectinload(Enrollment.student)))
            ).one()
            assert loaded.student.school_id == school.id


class TestSchema:
    def test_every_foreign_key_is_indexed(self) -> None:
        """A foreign key without an index makes joins and cascades scan the table."""
        missing = []
        for table in Base.metadata.sorted_tables:
            leading = {ix.columns.values()[0].name for ix in table.indexes}
            leading |= {
                uc.columns.values()[0].name
                for uc in table.constraints
                if isinstance(uc, UniqueConstraint)
            }
            leading |= {table.primary_key.columns.values()[0].name}
            for fk in table.foreign_keys:
                column = fk.parent
                if column.name not in leading and not column.unique and not column.index:
                    missing.append(f"{table.name}.{column.name}")
        assert missing == []

    async def test_migrations_match_the_models(self, db: Database) -> None:
        """The schema Alembic builds is exactly the one the models describe (no drift)."""
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        def diff(sync_conn: Connection) -> Any:
            context = MigrationContext.configure(
                sync_conn, opts={"compare_type": True, "include_name": include_name}
            )
            return compare_metadata(context, Base.metadata)

        async with db.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
