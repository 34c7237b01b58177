"""Weighted final grades: pure functions, no I/O.

A category's percentage is its points earned over its points possible, counting only graded
assessments. The final percentage weighs each category that has at least one graded assessment
and renormalises by those categories' weights, so an ungraded category neither helps nor hurts.
Percentages are rounded to two decimals, and the letter is read from the rounded figure so that
the number and the letter a family sees always agree.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

LETTER_FLOORS = (("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 60.0))


@dataclass(frozen=True, slots=True)
class CategoryTotals:
    weight: float
    earned: float  # sum of scores of graded assessments
    possible: float  # sum of max_points of the same graded assessments
    graded: int  # how many graded assessments the sums cover


def category_percentage(totals: CategoryTotals) -> float | None:
    if totals.graded == 0 or totals.possible <= 0:
        return None
    return round(100.0 * totals.earned / totals.possible, 2)


def final_percentage(categories: Iterable[CategoryTotals]) -> float | None:
    counted = [c for c in categories if c.graded > 0 and c.possible > 0 and c.weight > 0]
    weights = math.fsum(c.weight for c in counted)
    if not counted or weights <= 0:
        return None
    weighted = math.fsum(c.weight * c.earned / c.possible for c in counted)
    return round(100.0 * weighted / weights, 2)


def letter(percentage: float | None) -> str | None:
    if percentage is None:
        return None
    for name, floor in LETTER_FLOORS:
        if percentage >= floor:
            return name
    return "F"
