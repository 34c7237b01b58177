"""Every table, importable from one place (Alembic and the repositories use this)."""

from homeroom.enums import (
    ATTENDANCE_STATUSES,
    ENROLLMENT_STATUSES,
    JOB_STATES,
    ROLES,
    STUDENT_STATUSES,
)
from homeroom.models.analytics import (
    AnalyticsDay,
    AnalyticsEnrollment,
    AnalyticsEnrollmentCategory,
    AnalyticsSchool,
    AnalyticsSection,
    AnalyticsSession,
    AnalyticsStudent,
)
from homeroom.models.attendance import AttendanceRecord, AttendanceSession
from homeroom.models.base import Base, UTCDateTime, utcnow
from homeroom.models.cache import CacheVersion
from homeroom.models.catalog import Course, Enrollment, Section, Term
from homeroom.models.grading import Assessment, AssessmentCategory, Grade
from homeroom.models.idempotency import IdempotencyKey
from homeroom.models.jobs import Job, JobFile, Notification
from homeroom.models.people import Guardian, Student, StudentGuardian, Teacher
from homeroom.models.school import School
from homeroom.models.user import AuditLog, LoginEvent, RefreshToken, User

__all__ = [
    "ATTENDANCE_STATUSES",
    "ENROLLMENT_STATUSES",
    "JOB_STATES",
    "ROLES",
    "STUDENT_STATUSES",
    "AnalyticsDay",
    "AnalyticsEnrollment",
    "AnalyticsEnrollmentCategory",
    "AnalyticsSchool",
    "AnalyticsSection",
    "AnalyticsSession",
    "AnalyticsStudent",
    "Assessment",
    "AssessmentCategory",
    "AttendanceRecord",
    "AttendanceSession",
    "AuditLog",
    "Base",
    "CacheVersion",
    "Course",
    "Enrollment",
    "Grade",
    "Guardian",
    "IdempotencyKey",
    "Job",
    "JobFile",
    "LoginEvent",
    "Notification",
    "RefreshToken",
    "School",
    "Section",
    "Student",
    "StudentGuardian",
    "Teacher",
    "Term",
    "UTCDateTime",
    "User",
    "utcnow",
]
