"""The closed sets of values the records hold, named once.

Each set is a `Literal` type (what the schemas validate and the OpenAPI document lists) and
the tuple of its values in their display order (what the models' CHECK constraints, the
summaries' columns and the services' counts iterate). The migrations keep their own copies:
they are history.
"""

from typing import Literal, get_args

AttendanceStatus = Literal["present", "absent", "late", "excused"]
ATTENDANCE_STATUSES: tuple[AttendanceStatus, ...] = get_args(AttendanceStatus)

EnrollmentStatus = Literal["enrolled", "dropped", "completed"]
ENROLLMENT_STATUSES: tuple[EnrollmentStatus, ...] = get_args(EnrollmentStatus)

StudentStatus = Literal["active", "inactive", "graduated", "withdrawn"]
STUDENT_STATUSES: tuple[StudentStatus, ...] = get_args(StudentStatus)

JobState = Literal["queued", "running", "succeeded", "failed"]
JOB_STATES: tuple[JobState, ...] = get_args(JobState)
UNFINISHED_JOB_STATES: tuple[JobState, ...] = ("queued", "running")

Role = Literal["admin", "staff", "teacher", "student", "guardian"]
ROLES: tuple[Role, ...] = get_args(Role)

Letter = Literal["A", "B", "C", "D", "F"]
LETTERS: tuple[Letter, ...] = get_args(Letter)
