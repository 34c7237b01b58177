"""Types of the shared fixtures in tests/conftest.py whose values have no class of their own."""

from collections.abc import Callable
from contextlib import AbstractContextManager

# count_queries: `with count_queries() as statements:` collects the SQL issued inside the block.
CountQueries = Callable[[], AbstractContextManager[list[str]]]
