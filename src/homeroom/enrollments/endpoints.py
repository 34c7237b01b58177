from fastapi import APIRouter

router = APIRouter(prefix="/enrollments", tags=["enrollments"])
