import pytest

from homeroom.grades.calculation import (
    CategoryTotals,
    category_percentage,
    final_percentage,
    letter,
    to_cents,
)


def totals(weight: float, earned: float, possible: float, graded: int = 1) -> CategoryTotals:
    return CategoryTotals(weight=weight, earned=earned, possible=possible, graded=graded)


class TestCategoryPercentage:
    def test_points_over_possible(self) -> None:
        assert category_percentage(totals(40, 45, 60, 2)) == 75.0

    def test_ungraded_category_has_no_percentage(self) -> None:
        assert category_percentage(totals(40, 0, 0, 0)) is None

    def test_rounded_to_two_decimals(self) -> None:
        assert category_percentage(totals(10, 2, 3)) == 66.67

    def test_a_zero_score_is_graded(self) -> None:
        assert category_percentage(totals(10, 0, 20)) == 0.0


class TestFinalPercentage:
    def test_weighted_sum(self) -> None:
        # 60% weight at 90%, 40% weight at 70% -> 54 + 28
        assert final_percentage([totals(60, 90, 100), totals(40, 7, 10)]) == 82.0

    def test_weights_of_ungraded_categories_are_renormalised_away(self) -> None:
        assert final_percentage([totals(60, 45, 50), totals(40, 0, 0, graded=0)]) == 90.0

    def test_points_are_pooled_within_a_category_not_averaged(self) -> None:
        # 1/10 and 100/100 in one category: 101/110, not (10% + 100%) / 2
        assert final_percentage([totals(100, 101, 110, graded=2)]) == 91.82

    def test_nothing_graded_is_none(self) -> None:
        assert final_percentage([totals(60, 0, 0, 0), totals(40, 0, 0, 0)]) is None
        assert final_percentage([]) is None

    def test_weights_need_not_add_up_to_100(self) -> None:
        assert final_percentage([totals(1, 1, 2), totals(3, 1, 1)]) == 87.5


class TestLetter:
    @pytest.mark.parametrize(
        ("percentage", "expected"),
        [
            (100.0, "A"),
            (90.0, "A"),
            (89.99, "B"),
            (80.0, "B"),
            (79.99, "C"),
            (70.0, "C"),
            (69.99, "D"),
            (60.0, "D"),
            (59.99, "F"),
            (0.0, "F"),
            (None, None),
        ],
    )
    def test_floors(self, percentage: float | None, expected: str | None) -> None:
        assert letter(percentage) == expected

    def test_letter_agrees_with_the_rounded_percentage(self) -> None:
        # 89.996% shows as 90.0 and so is an A
        pct = final_percentage([totals(100, 89.996, 100)])
        assert pct == 90.0 and letter(pct) == "A"


class TestRounding:
    """Half up to the cent, whatever the binary float holds (89.995 is 89.99499999999999...)."""

    @pytest.mark.parametrize(
        ("percentage", "cents"),
        [
            (89.995, 90.0),
            (89.985, 89.99),  # half-even would give 89.98
            (0.015, 0.02),
            (79.995, 80.0),
            (89.994, 89.99),
            (89.9949, 89.99),
            (89.99499999999, 90.0),  # within a millionth of a cent: floating-point noise
            (100.0, 100.0),
            (0.0, 0.0),
        ],
    )
    def test_half_up_to_the_cent(self, percentage: float, cents: float) -> None:
        assert to_cents(percentage) == cents

    def test_a_half_way_final_is_rounded_up_and_lettered_from_the_rounded_figure(self) -> None:
        # 60% of 90.0 and 40% of 89.9875: 89.995, an A
        pct = final_percentage([totals(60, 9, 10), totals(40, 71.99, 80)])
        assert pct == 90.0 and letter(pct) == "A"

    def test_a_category_is_rounded_by_the_same_rule(self) -> None:
        assert category_percentage(totals(10, 89.995, 100)) == 90.0
        assert category_percentage(totals(10, 7.9985, 10)) == 79.99
