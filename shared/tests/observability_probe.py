"""A route with an id, for the metrics and tracing tests of the kit."""

from __future__ import annotations

from fastapi import APIRouter

from baton.authz import public
from baton.errors import NotFound

KNOWN_THING = 4711
UNKNOWN_THING = 987654
# What a client might put in a query string: never a label, never a span attribute.
SEARCH_TERM = "Ardita-Kovaci"
THING_ROUTE = "/v1/things/{thing_id}"

things_router = APIRouter(prefix="/v1/things", dependencies=[public])


@things_router.get("/{thing_id}")
async def read_thing(thing_id: int) -> dict[str, int]:
    if thing_id != KNOWN_THING:
        raise NotFound("No such thing.")
    return {"id": thing_id}
