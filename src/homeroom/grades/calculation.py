"""Weighted final grades: pure functions, no I/O.

A category's percentage is its points earned over its points possible, counting only graded
assessments. The final percentage weighs each category that has at least one graded assessment
and renormalises by those categories' weights, so an ungraded category neither helps nor hurts.

Percentages are rounded half up to the cent (a hundredth of a point): 89.995 is 90.00, 89.994
is 89.99. The letter is read from the rounded figure, so the number and the letter a family
sees always agree. The arithmetic is binary floating point, in which 89.995 is held as
89.99499999999999..., and the database keeps its sums by adding and subtracting as grades
change: a value less than a millionth of a cent below a half-way value counts as half-way
(HALF_UP), so that noise never decides a cent or a letter. The database computes the stored
final percentages with the same formula and constant (analytics/summary_repository.py and the
triggers of migration 0008), so the dashboard and the student's page agree to the cent.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

LETTER_FLOORS = (("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 60.0))

# A half, and a millionth of a cent of floating-point noise.
HALF_UP = 0.500001


@dataclass(frozen=True, slots=True)
class CategoryTotals:
    weight: float
    earned: float  # sum of scores of graded assessments
    possible: float  # sum of max_points of the same graded assessments
    graded: int  # how many graded assessments the sums cover


def to_cents(percentage: float) -> float:
    """`percentage` rounded half up to the cent: a whole number of cents over 100."""
    return math.floor(percentage * 100.0 + HALF_UP) / 100.0


def category_percentage(totals: CategoryTotals) -> float | None:
    if totals.graded == 0 or totals.possible <= 0:
        return None
    return to_cents(100.0 * totals.earned / totals.possible)


def final_percentage(categories: Iterable[CategoryTotals]) -> float | None:
    counted = [c for c in categories if c.graded > 0 and c.possible > 0 and c.weight > 0]
    weights = math.fsum(c.weight for c in counted)
    if not counted or weights <= 0:
        return None
    weighted = math.fsum(c.weight * c.earned / c.possible for c in counted)
    return to_cents(100.0 * weighted / weights)


def letter(percentage: float | None) -> str | None:
    if percentage is None:
        return None
    for name, floor in LETTER_FLOORS:
        if percentage >= floor:
            return name
    return "F"
