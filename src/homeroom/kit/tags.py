"""The names of the response cache's tags (kit/cache.py), built here and nowhere else.

A `Tag` is a `str` that only these builders make: `ResponseCache.cached`, `ResponseCache.key`
and `cache.invalidate` take `Tag`s, so mypy rejects a name typed by hand. Triggers of the
migrations write two families in SQL ('school:' || school_id || ':people' on writes of
students, 'school:' || school_id || ':activity:' || shard on audit rows): those names must stay
byte-for-byte what they are, and tests/kit/test_tags.py pins the builders to the triggers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NewType

if TYPE_CHECKING:
    from homeroom.kit.auth import Principal

Tag = NewType("Tag", str)

# What a school-wide tag covers. "people": the school's students (bumped by triggers on
# students, migration 0005, as well as by the write paths); "catalog": terms, courses,
# sections, teachers; "grading": assessments and categories; "users": the user accounts.
SchoolTopic = Literal["people", "catalog", "grading", "users"]

# Every audit row bumps one of these shards of its school's activity (and of the all-schools
# readers'), chosen by the audit row's id: a trigger of migration 0005, which keeps its own
# copy of the number. Concurrent writers bump different rows instead of queueing on one.
ACTIVITY_SHARDS = 8


def student(student_id: int) -> Tag:
    """A student's record and everything shown on the student's pages (grades, attendance)."""
    return Tag(f"student:{student_id}")


def section(section_id: int) -> Tag:
    """A section's record, its teachers and its roster."""
    return Tag(f"section:{section_id}")


def section_attendance(section_id: int) -> Tag:
    """The attendance taken in a section."""
    return Tag(f"section:{section_id}:attendance")


def course(course_id: int) -> Tag:
    return Tag(f"course:{course_id}")


def teacher(teacher_id: int) -> Tag:
    """A teacher's record and which sections the teacher teaches (what a teacher may see)."""
    return Tag(f"teacher:{teacher_id}")


def guardian(guardian_id: int) -> Tag:
    """A guardian's record and links to children (what a guardian may see)."""
    return Tag(f"guardian:{guardian_id}")


def school(school_id: int | None, topic: SchoolTopic) -> Tag:
    """A school-wide tag for reads; an all-schools admin (school None) reads "school:all:..."."""
    return Tag(f"school:{_school(school_id)}:{topic}")


def school_writes(school_id: int, *topics: SchoolTopic) -> list[Tag]:
    """The school-wide tags a write of `school_id`'s data bumps: its own and the all-schools
    readers'."""
    return [school(s, t) for t in topics for s in (school_id, None)]


def activity_shard(audit_id: int) -> int:
    """The shard an audit row with this id bumps (the trigger's `id % ACTIVITY_SHARDS`)."""
    return audit_id % ACTIVITY_SHARDS


def school_activity(school_id: int | None, shard: int) -> Tag:
    """One shard of a school's activity (all schools': school None)."""
    if not 0 <= shard < ACTIVITY_SHARDS:
        raise ValueError(f"activity shard {shard} is not in 0..{ACTIVITY_SHARDS - 1}")
    return Tag(f"school:{_school(school_id)}:activity:{shard}")


def school_activities(school_id: int | None) -> list[Tag]:
    """All shards of a school's activity: a read of the audit rows depends on every one."""
    prefix = f"school:{_school(school_id)}:activity:"
    return [Tag(f"{prefix}{shard}") for shard in range(ACTIVITY_SHARDS)]


def scope(principal: Principal) -> tuple[Tag, ...]:
    """Tags of the data that decides what this caller may see beyond the record itself:
    a teacher's sections, a guardian's links to children."""
    if principal.profile_id is None:
        return ()
    if principal.role == "teacher":
        return (teacher(principal.profile_id),)
    if principal.role == "guardian":
        return (guardian(principal.profile_id),)
    return ()


def _school(school_id: int | None) -> str:
    return "all" if school_id is None else str(school_id)
