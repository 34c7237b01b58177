from fastapi import APIRouter

router = APIRouter(prefix="/grades", tags=["grades"])
