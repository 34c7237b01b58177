from fastapi import APIRouter

router = APIRouter(prefix="/sections", tags=["sections"])
