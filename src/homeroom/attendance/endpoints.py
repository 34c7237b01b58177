from fastapi import APIRouter

router = APIRouter(prefix="/attendance", tags=["attendance"])
# Attendance summaries that hang off a student or a section.
student_router = APIRouter(prefix="/students", tags=["attendance"])
section_router = APIRouter(prefix="/sections", tags=["attendance"])
