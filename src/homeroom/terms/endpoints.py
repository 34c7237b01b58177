from fastapi import APIRouter

router = APIRouter(prefix="/terms", tags=["terms"])
