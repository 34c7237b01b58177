from fastapi import APIRouter

router = APIRouter(prefix="/teachers", tags=["teachers"])
