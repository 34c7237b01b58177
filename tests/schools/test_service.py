"""schools.service.list_schools: the schools a person may pick, by name."""

from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.schools import service
from tests.factories import Factory


class TestListSchools:
    async def test_every_school_for_an_admin_of_all_else_their_own(
        self, db: Database, factory: Factory
    ) -> None:
        zeta = await factory.school(name="Zeta High", code="Z")
        alpha = await factory.school(name="Alpha Middle", code="A")
        everyone = await service.list_schools(db, Principal(1, "admin", None, None))
        assert everyone == [
            {"id": alpha.id, "name": "Alpha Middle", "code": "A"},
            {"id": zeta.id, "name": "Zeta High", "code": "Z"},
        ]
        own = await service.list_schools(db, Principal(2, "staff", zeta.id, None))
        assert [s["id"] for s in own] == [zeta.id]
