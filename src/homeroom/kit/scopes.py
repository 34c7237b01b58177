"""Row-level scopes as SQL: who may see which students, sections and schools.

A scope is a `kind` (part of a compiled query's shape) plus two bind parameters
(`scope_school`, `scope_profile`), so every scoped query stays one statement, compiled once.
"""

from typing import Any, Literal

from sqlalchemy import BindParameter, ColumnElement, bindparam, select, true
from sqlalchemy.orm import QueryableAttribute

from homeroom.kit.auth import Principal
from homeroom.models import Enrollment, Section, StudentGuardian

ScopeKind = Literal["all", "school", "teacher", "student", "guardian"]


def scope_kind(principal: Principal) -> ScopeKind:
    role = principal.role
    if role in ("admin", "staff"):
        return "all" if principal.school_id is None else "school"
    if role == "teacher":
        return "teacher"
    if role == "student":
        return "student"
    return "guardian"


def scope_params(principal: Principal) -> dict[str, Any]:
    return {"scope_school": principal.school_id, "scope_profile": principal.profile_id or 0}


def _profile() -> BindParameter[Any]:
    return bindparam("scope_profile")


def _school() -> BindParameter[Any]:
    return bindparam("scope_school")


def school_filter(kind: ScopeKind, school_col: QueryableAttribute[Any]) -> ColumnElement[bool]:
    """Records of the caller's school (every role but an all-schools admin is bound to one)."""
    if kind == "all":
        return true()
    return school_col == _school()


def student_filter(kind: ScopeKind, student_col: QueryableAttribute[Any]) -> ColumnElement[bool]:
    """Students the caller may see: a teacher's own sections' students, a guardian's children,
    a student themself; staff and admins their school (apply `school_filter` too)."""
    if kind == "student":
        return student_col == _profile()
    if kind == "guardian":
        children = select(StudentGuardian.student_id).where(
            StudentGuardian.guardian_id == _profile()
        )
        return student_col.in_(children)
    if kind == "teacher":
        taught = (
            select(Enrollment.student_id)
            .join(Section, Section.id == Enrollment.section_id)
            .where(Section.teacher_id == _profile())
        )
        return student_col.in_(taught)
    return true()


def section_filter(kind: ScopeKind, section_col: QueryableAttribute[Any]) -> ColumnElement[bool]:
    """Sections the caller may see: a teacher's own, those a student (or a guardian's child)
    is enrolled in; staff and admins every section of their school."""
    if kind == "teacher":
        own = select(Section.id).where(Section.teacher_id == _profile())
        return section_col.in_(own)
    if kind == "student":
        mine = select(Enrollment.section_id).where(Enrollment.student_id == _profile())
        return section_col.in_(mine)
    if kind == "guardian":
        children = select(StudentGuardian.student_id).where(
            StudentGuardian.guardian_id == _profile()
        )
        theirs = select(Enrollment.section_id).where(Enrollment.student_id.in_(children))
        return section_col.in_(theirs)
    return true()
