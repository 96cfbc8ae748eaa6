"""One logical call to Baton, as both clients prepare it before its first try."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

# Methods that may be repeated without a key: repeating them changes nothing more.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
USER_AGENT = "baton-client/0.1"

Params = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True)
class Call:
    """What is sent at every try of one call: the same key, body and headers each time."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: Params | None = None
    json: Any = None
    data: Mapping[str, str] | None = None
    auth: httpx.Auth | None = None
    # Whether a try that failed may be repeated (see `retries`).
    repeatable: bool = False


def url_of(base_url: str, path: str) -> str:
    """`path` under the gateway's URL; never another host, since the token goes along."""
    if not path.startswith("/"):
        raise ValueError(f"the path must start with '/': {path!r}")
    return base_url.rstrip("/") + path


def prepare(
    base_url: str,
    method: str,
    path: str,
    *,
    params: Params | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
    if_match: str | None = None,
) -> Call:
    """The call, with an `Idempotency-Key` on every POST (a new UUID unless given)."""
    method = method.upper()
    sent = dict(headers or {})
    given = next((v for k, v in sent.items() if k.lower() == IDEMPOTENCY_KEY.lower()), None)
    if idempotency_key is None and given is None and method == "POST":
        idempotency_key = str(uuid.uuid4())
    if idempotency_key is not None:
        sent = {k: v for k, v in sent.items() if k.lower() != IDEMPOTENCY_KEY.lower()}
        sent[IDEMPOTENCY_KEY] = idempotency_key
    if if_match is not None:
        sent["If-Match"] = if_match
    keyed = idempotency_key is not None or given is not None
    return Call(
        method=method,
        url=url_of(base_url, path),
        headers=sent,
        params=params,
        json=json,
        repeatable=method in IDEMPOTENT_METHODS or keyed,
    )


def etag(response: httpx.Response) -> str:
    """The `ETag` of a read, to send back as `If-Match` (`update(..., etag=...)`)."""
    value: str | None = response.headers.get("etag")
    if value is None:
        raise LookupError(f"{response.request.method} {response.request.url.path} sent no ETag")
    return value


def replayed(response: httpx.Response) -> bool:
    """True when Baton answered with the stored response of an earlier try of this key."""
    value: str = response.headers.get(REPLAYED, "")
    return value.lower() == "true"


def page_of(response: httpx.Response) -> tuple[list[Any], str | None]:
    """A page's items and the cursor of the next page (None on the last)."""
    body = response.json()
    items, cursor = body.get("items"), body.get("next_cursor")
    if not isinstance(items, list) or not (cursor is None or isinstance(cursor, str)):
        raise ValueError(f"{response.request.url.path} did not answer with a page")
    return items, cursor
