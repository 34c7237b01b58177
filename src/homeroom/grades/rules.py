"""The grade rules every write path applies (one grade, a gradebook column, an import).

Pure: values in, a verdict out; the callers fetch what the rules read.
"""


def score_in_range(score: float, max_points: float) -> bool:
    """A score lies between 0 and its assessment's points, both included."""
    return 0 <= score <= max_points


def score_range_message(max_points: float) -> str:
    return f"score must be between 0 and the assessment's {max_points:g} points"
