"""A stand-in for Baton's gateway that answers as scripted and records what it was sent.

It speaks Baton's wire formats (the token endpoint, problem details, pages, ETags)
so the client can be tried against failures the real system seldom shows on cue.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from baton.testing import serving
from baton_client import ClientCredentials, RetryPolicy

CLIENT_ID = "ngo-referrals"
# Characters that RFC 6749 §2.3.1 asks to form-urlencode inside HTTP Basic.
CLIENT_SECRET = "s3cret+/=:%"
CREDENTIALS = ClientCredentials(CLIENT_ID, CLIENT_SECRET)
# Retries without the waits of production (Retry-After is still honoured).
QUICK = RetryPolicy(attempts=4, backoff=0.01)
ITEMS = [{"id": f"item-{number}"} for number in range(7)]


def problem(
    status: int, code: str, *, detail: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "type": f"urn:baton:problem:{code}",
        "title": code.replace("-", " ").capitalize(),
        "status": status,
        "code": code,
        "request_id": "req-0001",
        **({"detail": detail} if detail else {}),
    }
    return Response(
        json.dumps(body), status_code=status, headers=headers, media_type="application/problem+json"
    )


def replay(status: int, body: dict[str, Any]) -> Response:
    """A stored response answered again to a retry with the same key."""
    return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeBaton:
    url: str = ""
    token_lifetime: int = 300
    # Access tokens handed out, in order; a refused one answers 401.
    issued: list[str] = field(default_factory=list)
    token_forms: list[dict[str, str]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    refuse_every_token: bool = False
    # Answers to give, per path, before the ordinary one.
    scripted: dict[str, deque[Response]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    record_version: int = 1

    def script(self, path: str, *answers: Response) -> None:
        self.scripted.setdefault(path, deque()).extend(answers)

    def calls_to(self, path: str) -> list[Received]:
        return [call for call in self.received if call.path == path]

    def app(self) -> FastAPI:
        app = FastAPI()
        app.post("/identity/v1/oauth/token")(self._token)
        app.get("/things/v1/items")(self._items)
        app.get("/things/v1/record")(self._read_record)
        app.patch("/things/v1/record")(self._update_record)
        app.api_route("/things/v1/{name}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])(
            self._thing
        )
        app.middleware("http")(self._authenticate)
        return app

    async def _token(self, request: Request) -> Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        if scheme != "Basic" or (unquote_plus(client_id), unquote_plus(secret)) != (
            CLIENT_ID,
            CLIENT_SECRET,
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed."},
                status_code=401,
            )
        self.token_forms.append(dict(parse_qsl((await request.body()).decode())))
        token = f"token-{len(self.issued) + 1}"
        self.issued.append(token)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    async def _authenticate(self, request: Request, call_next: Any) -> Response:
        if request.url.path.startswith("/identity/"):
            return await call_next(request)  # type: ignore[no-any-return]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.issued or token in self.refused or self.refuse_every_token:
            return problem(401, "unauthorized")
        self.received.append(
            Received(
                request.method,
                request.url.path,
                dict(request.query_params),
                {name.lower(): value for name, value in request.headers.items()},
            )
        )
        answers = self.scripted.get(request.url.path)
        if answers:
            return answers.popleft()
        return await call_next(request)  # type: ignore[no-any-return]

    async def _thing(self, name: str, request: Request) -> Response:
        status = 201 if request.method == "POST" else 200
        return JSONResponse({"name": name}, status_code=status)

    async def _items(self, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        start = int(cursor) if cursor else 0
        end = start + limit
        return {"items": ITEMS[start:end], "next_cursor": str(end) if end < len(ITEMS) else None}

    def _etag(self) -> str:
        return f'"v{self.record_version}"'

    async def _read_record(self) -> Response:
        return JSONResponse({"version": self.record_version}, headers={"ETag": self._etag()})

    async def _update_record(self, request: Request) -> Response:
        if request.headers.get("if-match") != self._etag():
            return problem(412, "precondition-failed")
        self.record_version += 1
        return JSONResponse({"version": self.record_version}, headers={"ETag": self._etag()})


@contextmanager
def running(fake: FakeBaton) -> Iterator[FakeBaton]:
    with serving(fake.app()) as url:
        fake.url = url
        yield fake
