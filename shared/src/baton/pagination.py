"""Cursor pagination with a stable order: (created_at, id), opaque cursors."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Mapped

from baton.errors import BatonError

MAX_PAGE_SIZE = 100
ItemT = TypeVar("ItemT")


class InvalidCursor(BatonError):
    code = "invalid-cursor"
    status = 400
    title = "Invalid cursor"


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = 50


async def page_params(
    cursor: Annotated[
        str | None, Query(description="From `next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = 50,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created), uuid.UUID(ident)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this API issued.") from exc


def _encode(created_at: datetime, ident: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(ident)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def paginate(
    query: Select[Any],
    params: PageParams,
    created_at: Mapped[datetime],
    ident: Mapped[uuid.UUID],
) -> Select[Any]:
    """Order `query` stably and start after the cursor; fetch one extra row to see if more."""
    if params.cursor is not None:
        after_created, after_id = _decode(params.cursor)
        # A row comparison, which an index on (..., created_at, id) answers as one range:
        # a deep page costs what the first one does.
        query = query.where(tuple_(created_at, ident) > tuple_(after_created, after_id))
    return query.order_by(created_at, ident).limit(params.limit + 1)


def page_of(
    rows: Sequence[Any], params: PageParams, items: list[ItemT], *, ordered_by: str = "created_at"
) -> Page[ItemT]:
    """Build the page from the rows of `paginate` (the extra row only signals a next page).

    `ordered_by` names the rows' time attribute `paginate` ordered them by.
    """
    if len(rows) <= params.limit:
        return Page(items=items, next_cursor=None)
    last = rows[params.limit - 1]
    return Page(
        items=items[: params.limit], next_cursor=_encode(getattr(last, ordered_by), last.id)
    )
