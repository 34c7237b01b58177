from fastapi import APIRouter

router = APIRouter(prefix="/assessments", tags=["assessments"])
# A section's assessment categories and their weights: /sections/{id}/categories
categories_router = APIRouter(prefix="/sections", tags=["assessments"])
