from fastapi import APIRouter

router = APIRouter(prefix="/grades", tags=["grades"])
# Grade summaries that hang off a student: /students/{id}/grades
student_router = APIRouter(prefix="/students", tags=["grades"])
