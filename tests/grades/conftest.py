from tests.assessments.conftest import World, world

__all__ = ["World", "world"]
