"""Who may write a section's assessments, grades and attendance: the rule every write path
applies (the single and bulk endpoints, an import).

Pure: values in, a verdict out; the callers fetch the section's teacher.
"""

from homeroom.kit.auth import Principal
from homeroom.kit.errors import Forbidden


def may_write(principal: Principal, teacher_id: int | None) -> bool:
    """Admins and staff write any section they can see (their scope decides which); a teacher
    only the sections they teach. (Students and guardians hold no write permission: their
    requests end at the endpoint's role check.)"""
    return principal.role != "teacher" or teacher_id == principal.profile_id


def not_teacher_message(section: str = "this section") -> str:
    return f"you do not teach {section}"


def ensure_may_write(principal: Principal, teacher_id: int | None) -> None:
    if not may_write(principal, teacher_id):
        raise Forbidden(not_teacher_message())
