"""The enrollment rules every write path applies (one enrollment, a bulk batch, an import).

Pure: values in, a verdict out; the callers fetch what the rules read.
"""


def has_seat(enrolled: int, capacity: int) -> bool:
    """A student may join a section while fewer students than its capacity are enrolled."""
    return enrolled < capacity


def full_message(section: str, capacity: int) -> str:
    """Why a student may not join `section` (named as the caller's input names it)."""
    return f"{section} is full: all {capacity} seats are taken"
