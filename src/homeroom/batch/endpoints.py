import orjson
from fastapi import APIRouter, Request, Response

from homeroom.batch import subrequests
from homeroom.batch.schemas import BatchRequest, BatchResponse
from homeroom.kit.auth import CurrentPrincipal
from homeroom.kit.routing import Route

router = APIRouter(tags=["batch"], route_class=Route)


@router.post("/batch", response_model=BatchResponse)
async def batch(request: Request, principal: CurrentPrincipal, data: BatchRequest) -> Response:
    """Up to 20 GET requests in one round trip, each authorized as the caller, in order."""
    responses = await subrequests.run_batch(request.app, request.scope, data)
    body = orjson.dumps({"responses": responses})
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})
