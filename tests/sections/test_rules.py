import pytest

from homeroom.kit.auth import Principal
from homeroom.kit.errors import Forbidden
from homeroom.sections import rules


def principal(role: str, profile_id: int | None) -> Principal:
    return Principal(user_id=1, role=role, school_id=1, profile_id=profile_id)


class TestMayWrite:
    def test_a_teacher_teaches_only_their_own_sections(self) -> None:
        assert rules.may_write(principal("teacher", 7), 7)
        assert not rules.may_write(principal("teacher", 7), 8)
        assert not rules.may_write(principal("teacher", 7), None)  # a section with no teacher

    @pytest.mark.parametrize("role", ["admin", "staff"])
    def test_the_office_writes_any_section(self, role: str) -> None:
        assert rules.may_write(principal(role, None), 8)
        assert rules.may_write(principal(role, None), None)

    def test_ensure_may_write_is_a_403_saying_why(self) -> None:
        rules.ensure_may_write(principal("teacher", 7), 7)
        with pytest.raises(Forbidden) as raised:
            rules.ensure_may_write(principal("teacher", 7), 8)
        assert raised.value.status == 403
        assert raised.value.detail == "you do not teach this section"

    def test_the_message_names_the_section_as_given(self) -> None:
        assert rules.not_teacher_message("MATH-101 section 02 (Fall 2026)") == (
            "you do not teach MATH-101 section 02 (Fall 2026)"
        )
