import pytest

from homeroom.grades import rules


class TestScoreRange:
    @pytest.mark.parametrize("score", [0, 0.5, 19.99, 20])
    def test_within_zero_and_max_points(self, score: float) -> None:
        assert rules.score_in_range(score, 20)

    @pytest.mark.parametrize("score", [-0.01, 20.01, 100])
    def test_outside(self, score: float) -> None:
        assert not rules.score_in_range(score, 20)

    def test_message_shows_points_without_a_needless_fraction(self) -> None:
        assert rules.score_range_message(20.0) == (
            "score must be between 0 and the assessment's 20 points"
        )
        assert rules.score_range_message(7.5) == (
            "score must be between 0 and the assessment's 7.5 points"
        )
