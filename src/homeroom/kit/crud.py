"""The standard routes of a record type, declared once: list, read, create, change, delete.

Eleven record types answer the same five routes the same way: parse, authorize with the
type's scope, call one function, encode. Written out, each domain repeated the same
~60 lines of endpoints, and a change to how a list answers (its Link header, its ETag) had
eleven homes. Here they are made from what the domain declares anyway:

- the representation (`model`, its Read schema) and the scopes that read and write it;
- its `Listing` (kit/records.py: sort keys, filters and their query model, and the
  `Resource` whose scoped read GET runs);
- its service's write functions (`Writes`), whose signatures name the body they take and
  whose docstrings become the routes' OpenAPI descriptions.

The routes are ordinary FastAPI routes (the domain's router, its route class, typed
parameters and dependencies built as a signature), so OpenAPI, validation, the fast read
path (kit/fastpath.py) and the response check see them like any other. A domain writes out
the routes that do something else (a bulk write, a restore, a roster) beside them.
"""

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast, get_type_hints

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.auth import Principal
from homeroom.kit.cache import Entry, ResponseCache, cached_response
from homeroom.kit.db import Database
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.pagination import PagePlan, page_plan, page_response
from homeroom.kit.params import query_model
from homeroom.kit.records import Listing, read
from homeroom.kit.responses import json_response
from homeroom.kit.schemas import Page, PathId
from homeroom.kit.writes import Target

Create = Callable[[Database, AsyncSession, Principal, Any], Awaitable[dict[str, Any]]]
Update = Callable[[Database, AsyncSession, Principal, Target, Any], Awaitable[dict[str, Any]]]
Delete = Callable[[Database, AsyncSession, Principal, Target], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Writes:
    """A record type's write functions, as its service declares them: `create(db, session,
    principal, data)`, `update(db, session, principal, target, data)` and `delete(db,
    session, principal, target)` (the `Target` is the id in the path and the If-Match the
    client sent); a type without one leaves it out."""

    create: Create | None = None
    update: Update | None = None
    delete: Delete | None = None


def _endpoint(
    name: str,
    doc: str | None,
    parameters: dict[str, Any],
    body: Callable[..., Awaitable[Response]],
) -> Callable[..., Awaitable[Response]]:
    """An endpoint named `name` whose signature FastAPI reads from `parameters`."""

    async def endpoint(**values: Any) -> Response:
        return await body(**values)

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    vars(endpoint)["__signature__"] = inspect.Signature(
        [
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
            for key, annotation in parameters.items()
        ],
        return_annotation=Response,
    )
    return endpoint


def _body_model(function: Callable[..., Any]) -> Any:
    return get_type_hints(function)["data"]


def standard_routes(
    router: APIRouter,
    model: type[BaseModel],
    reads: Any,
    writes_scope: Any,
    listing: Listing,
    writes: Writes,
    *,
    id_name: str | None = None,
    get_name: str | None = None,
    cached_get: Callable[[Database, ResponseCache, Principal, int], Awaitable[Entry]] | None = None,
    list_note: str = "",
    with_list: bool = True,
) -> None:
    """Adds to `router` the routes the record type has: `GET ""` (a page of `listing`),
    `GET /{<name>_id}` (the scoped read of its resource), and those of `writes`: `POST ""` (201),
    `PATCH /{<name>_id}` (If-Match honoured) and `DELETE /{<name>_id}` (204). `reads` and
    `writes_scope` are the scope dependencies (kit/auth) that authorize them; `id_name` and
    `get_name` name the record's path parameter and read route where they are not
    `<name>_id` and `get_<name>`; `cached_get(db, pages, principal, id)`, where given,
    answers the read route from the response cache (kit/cache.py); `list_note` is added to
    the list route's description; `with_list=False` leaves the list route to the domain
    (declared before, to keep its place)."""
    noun = listing.resource.name.replace(" ", "_")
    resource = listing.resource
    id_name = id_name or f"{noun}_id"
    record = f"/{{{id_name}}}"

    async def list_page(
        request: Request, principal: Principal, db: Database, plan: PagePlan, filters: Any = None
    ) -> Response:
        rows, total = await listing.page(db, principal, filters, plan)
        return page_response(request, rows, total, plan, listing.sorting, listing.item)

    async def get_one(
        request: Request,
        principal: Principal,
        db: Database,
        pages: ResponseCache | None = None,
        **ids: int,
    ) -> Response:
        if cached_get is not None:
            assert pages is not None
            return cached_response(request, await cached_get(db, pages, principal, ids[id_name]))
        return json_response(request, await read(db, principal, resource, ids[id_name]))

    listed: dict[str, Any] = {"request": Request, "principal": reads, "db": DB}
    listed["plan"] = Annotated[PagePlan, Depends(page_plan(listing.sorting))]
    if listing.query is not None:
        listed["filters"] = Annotated[listing.query, query_model(listing.query)]
    doc = _list_doc(listing, list_note)
    if with_list:
        router.get("", response_model=cast(Any, Page)[model])(
            _endpoint(f"list_{listing.name}", doc, listed, list_page)
        )
    if writes.create is not None:
        create = writes.create

        async def create_one(
            request: Request, principal: Principal, db: Database, session: AsyncSession, data: Any
        ) -> Response:
            created = await create(db, session, principal, data)
            return json_response(request, created, status_code=201)

        params = {"request": Request, "principal": writes_scope, "db": DB, "session": Session}
        params["data"] = _body_model(create)
        router.post("", response_model=model, status_code=201)(
            _endpoint(create.__name__, create.__doc__, params, create_one)
        )
    one: dict[str, Any] = {"request": Request, "principal": reads, "db": DB}
    if cached_get is not None:
        one["pages"] = PageCache
    one[id_name] = PathId
    router.get(record, response_model=model)(
        _endpoint(get_name or f"get_{noun}", f"Read one {resource.name}.", one, get_one)
    )
    if writes.update is not None:
        update = writes.update

        async def update_one(
            request: Request,
            principal: Principal,
            db: Database,
            session: AsyncSession,
            data: Any,
            **ids: int,
        ) -> Response:
            target = Target(ids[id_name], request.headers.get("if-match"))
            changed = await update(db, session, principal, target, data)
            return json_response(request, changed)

        params = {"request": Request, "principal": writes_scope, "db": DB, "session": Session}
        params[id_name] = PathId
        params["data"] = _body_model(update)
        router.patch(record, response_model=model)(
            _endpoint(update.__name__, update.__doc__, params, update_one)
        )
    if writes.delete is not None:
        delete = writes.delete

        async def delete_one(
            request: Request, principal: Principal, db: Database, session: AsyncSession, **ids: int
        ) -> Response:
            target = Target(ids[id_name], request.headers.get("if-match"))
            await delete(db, session, principal, target)
            return Response(status_code=204)

        params = {"request": Request, "principal": writes_scope, "db": DB, "session": Session}
        params[id_name] = PathId
        router.delete(record, status_code=204)(
            _endpoint(delete.__name__, delete.__doc__, params, delete_one)
        )


def _words(names: list[str], last: str) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"


def _list_doc(listing: Listing, note: str) -> str:
    """What the list route says of itself: its filters and sort keys, from the listing."""
    sorting = listing.sorting
    default = sorting.default.removeprefix("-")
    first = "(default, descending)" if sorting.default.startswith("-") else "(default)"
    keys = [f"{name} {first}" if name == default else name for name in sorting.keys]
    doc = f"List the {listing.name.replace('_', ' ')} the caller may see"
    if listing.filters:
        doc += ", filtered by " + _words(list(listing.filters), "and")
    doc += f", sorted by {_words(keys, 'or')} ('-' for descending), in pages."
    return f"{doc} {note}" if note else doc
