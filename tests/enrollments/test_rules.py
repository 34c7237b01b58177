from homeroom.enrollments import rules


class TestSeats:
    def test_a_seat_is_free_below_capacity(self) -> None:
        assert rules.has_seat(4, 5)
        assert rules.has_seat(0, 1)

    def test_no_seat_at_or_over_capacity(self) -> None:
        assert not rules.has_seat(5, 5)
        assert not rules.has_seat(6, 5)  # a capacity lowered under the enrolled count
        assert not rules.has_seat(0, 0)

    def test_the_message_names_the_section_as_given(self) -> None:
        assert rules.full_message("section 12", 30) == "section 12 is full: all 30 seats are taken"
