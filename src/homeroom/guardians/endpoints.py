from fastapi import APIRouter

router = APIRouter(prefix="/guardians", tags=["guardians"])
