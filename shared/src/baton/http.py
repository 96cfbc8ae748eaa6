"""Calls from one Baton service to another, authenticated as the calling service.

`ServiceClient` gets an access token with the OAuth2 client-credentials grant and
reuses it until shortly before it expires, forwards the current request id so a
call chain shares one id, sends the current W3C `traceparent` (within a client
span of its own when given a tracer), and retries only what is safe to send twice:
idempotent methods, and POST or PATCH carrying an `Idempotency-Key`. Logs name the
method, the path (never the query string), the status and the attempt; never a
token, a secret or a body.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack
from urllib.parse import quote_plus

import httpx
from opentelemetry.trace import StatusCode, Tracer
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from baton.context import current_request_id
from baton.middleware import REQUEST_ID_HEADER
from baton.telemetry import TRACEPARENT, client_span, inject_trace_context

logger = logging.getLogger("baton.http")

IDEMPOTENCY_KEY_HEADER = "idempotency-key"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Statuses saying "not now" rather than "no": the request may succeed if sent again.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Failures where the upstream may not have got, or not have answered, the request.
_TRANSIENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)

Primitive = str | int | float | bool
QueryParams = Mapping[str, Primitive | Sequence[Primitive]]


class RequestOptions(TypedDict, total=False):
    """What a call may carry besides its method and path (as httpx takes them)."""

    json: Any
    content: bytes | str | None
    data: Mapping[str, str] | None
    params: QueryParams | None
    headers: Mapping[str, str] | None


class ClientCredentials(BaseModel):
    """An OAuth2 client of identity-api, and the audience its tokens are for."""

    model_config = ConfigDict(frozen=True)

    token_url: str
    client_id: str
    client_secret: SecretStr
    # The service being called (its `aud`), e.g. "cases-api".
    audience: str
    # Empty: all the scopes the client holds.
    scopes: tuple[str, ...] = ()


class TokenRequestFailed(Exception):
    """The token endpoint refused, or could not be reached; `error` is RFC 6749's code."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.description = description


class _TokenResponse(BaseModel):
    access_token: str = Field(min_length=1)
    token_type: str
    expires_in: int | None = None


class _ErrorResponse(BaseModel):
    error: str
    error_description: str | None = None


@dataclass(frozen=True)
class _CachedToken:
    value: str = field(repr=False)
    refresh_at: float  # on the client's monotonic clock


def _basic_authorization(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    raw = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode("ascii")


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (delta or HTTP date), or None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())


class ServiceClient:
    """An HTTP client for one upstream service, authenticated with client credentials.

    Use as `async with ServiceClient(...) as client:` or call `aclose()`. Methods
    return the `httpx.Response` whatever its status; transport errors that are
    still failing after the last attempt are raised as httpx raises them.
    """

    def __init__(
        self,
        base_url: str,
        credentials: ClientCredentials,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_retries: int = 2,
        backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 5.0,
        max_retry_after_seconds: float = 10.0,
        token_refresh_margin_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        tracer: Tracer | None = None,
    ) -> None:
        """`tracer` (the app's, see `baton.app.tracer_of`) adds a client span per call;
        without it the current trace context is still passed on."""
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self.credentials = credentials
        self.tracer = tracer
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self.token_refresh_margin_seconds = token_refresh_margin_seconds
        self._clock = clock
        self._token: _CachedToken | None = None
        self._token_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(
                connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
            ),
            # A redirect must never carry the bearer token to another address.
            follow_redirects=False,
            # Calls between services go direct: no proxies or .netrc from the environment.
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"ServiceClient(base_url={str(self._http.base_url)!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # Convenience methods -------------------------------------------------------------

    async def get(self, path: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("GET", path, **options)

    async def post(self, path: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("POST", path, **options)

    async def put(self, path: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("PUT", path, **options)

    async def patch(self, path: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("PATCH", path, **options)

    async def delete(self, path: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("DELETE", path, **options)

    # The request itself ----------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send `method path` to the upstream with a bearer token and the request id.

        A 401 drops the cached token and sends once more with a fresh one.
        """
        method = method.upper()
        if not httpx.URL(path).is_relative_url:
            # The bearer token is for this upstream only.
            raise ValueError("path must be relative to the client's base URL")
        outgoing = httpx.Headers(headers)
        if "authorization" in outgoing:
            raise ValueError("Authorization is set by the client from its credentials")
        if REQUEST_ID_HEADER not in outgoing:
            # Without a request being served (a job, a command), this call starts a chain.
            outgoing[REQUEST_ID_HEADER] = current_request_id() or str(uuid.uuid4())
        request = self._http.build_request(
            method, path, json=json, content=content, data=data, params=params, headers=outgoing
        )
        retryable = method in IDEMPOTENT_METHODS or IDEMPOTENCY_KEY_HEADER in outgoing
        host = request.url.netloc.decode("ascii")
        with client_span(self.tracer, method, host, request.url.path) as span:
            if TRACEPARENT not in outgoing:
                # The client span's context if there is one, else the caller's span's.
                inject_trace_context(request.headers)
            response, token = await self._send(request, retryable=retryable)
            if response.status_code == 401:
                # The upstream may have stopped trusting this token (key rotated, client
                # changed); a request refused for its credentials was not processed.
                self._forget_token(token)
                response, _ = await self._send(request, retryable=retryable)
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 500:
                    span.set_status(StatusCode.ERROR)
        return response

    async def _send(self, request: httpx.Request, *, retryable: bool) -> tuple[httpx.Response, str]:
        """Send with retries if `retryable`; returns the response and the token it carried."""
        attempts = self.max_retries + 1 if retryable else 1
        # The path without its query string: queries may carry identifiers.
        fields = {
            "method": request.method,
            "host": request.url.netloc.decode("ascii"),
            "path": request.url.path,
        }
        started = time.perf_counter()
        for attempt in range(1, attempts + 1):
            token = await self.access_token()
            request.headers["authorization"] = f"Bearer {token}"
            try:
                response = await self._http.send(request)
            except _TRANSIENT_ERRORS as exc:
                if attempt == attempts:
                    logger.warning(
                        "upstream call failed",
                        extra={**fields, "attempt": attempt, "error": type(exc).__name__},
                    )
                    raise
                delay = self._backoff(attempt)
                self._log_retry(fields, attempt, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            if attempt < attempts and self._asks_for_retry(request, response):
                wait = self._retry_delay(response, attempt)
                if wait is not None:
                    self._log_retry(fields, attempt, str(response.status_code), wait)
                    await response.aclose()
                    await asyncio.sleep(wait)
                    continue
            logger.info(
                "upstream call",
                extra={
                    **fields,
                    "status": response.status_code,
                    "attempt": attempt,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response, token
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _asks_for_retry(request: httpx.Request, response: httpx.Response) -> bool:
        if response.status_code in RETRYABLE_STATUSES:
            return True
        # A keyed write whose first attempt still runs upstream (baton.idempotency's
        # 409 with Retry-After): the same key later gets that attempt's response.
        return (
            response.status_code == 409
            and IDEMPOTENCY_KEY_HEADER in request.headers
            and "retry-after" in response.headers
        )

    def _backoff(self, attempt: int) -> float:
        # Exponential with jitter, so callers failing together do not retry together.
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """How long to wait before the next attempt; None: do not retry."""
        retry_after = _retry_after_seconds(response)
        if retry_after is None:
            return self._backoff(attempt)
        if retry_after > self.max_retry_after_seconds:
            # Asking again sooner than the upstream said would only be refused again.
            return None
        return retry_after

    @staticmethod
    def _log_retry(fields: Mapping[str, str], attempt: int, reason: str, delay: float) -> None:
        logger.warning(
            "upstream call retried",
            extra={**fields, "attempt": attempt, "reason": reason, "delay_ms": round(delay * 1000)},
        )

    # The access token ------------------------------------------------------------------

    async def access_token(self) -> str:
        """The cached access token, fetched first if missing or about to expire."""
        cached = self._token
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.value
        async with self._token_lock:
            # Callers that waited here reuse the token the first one fetched.
            cached = self._token
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.value
            self._token = await self._fetch_token()
            return self._token.value

    def _forget_token(self, token: str) -> None:
        # Only the token that was refused: a concurrent caller may have replaced it already.
        if self._token is not None and self._token.value == token:
            self._token = None

    async def _fetch_token(self) -> _CachedToken:
        credentials = self.credentials
        form = {"grant_type": "client_credentials", "audience": credentials.audience}
        if credentials.scopes:
            form["scope"] = " ".join(credentials.scopes)
        headers = {
            "authorization": _basic_authorization(
                credentials.client_id, credentials.client_secret.get_secret_value()
            ),
            "accept": "application/json",
            REQUEST_ID_HEADER: current_request_id() or str(uuid.uuid4()),
        }
        requested_at = self._clock()
        response = await self._post_token_request(form, headers)
        if response.status_code != 200:
            raise self._token_error(response)
        try:
            body = _TokenResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise TokenRequestFailed(
                "the token endpoint sent an unreadable response", status=response.status_code
            ) from exc
        if body.token_type.lower() != "bearer":
            raise TokenRequestFailed(
                f"the token endpoint issued a {body.token_type!r} token, not a bearer token",
                status=response.status_code,
            )
        # Without `expires_in` the lifetime is unknown: keep the token only briefly.
        lifetime = float(body.expires_in if body.expires_in is not None else 60)
        # Early enough for clock skew and slow calls, yet short tokens are still reused.
        margin = min(self.token_refresh_margin_seconds, lifetime / 10)
        logger.info(
            "access token fetched",
            extra={"audience": credentials.audience, "expires_in": body.expires_in},
        )
        return _CachedToken(body.access_token, refresh_at=requested_at + lifetime - margin)

    async def _post_token_request(
        self, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> httpx.Response:
        # Asking for a token changes nothing at the issuer, so transient failures retry.
        url = self.credentials.token_url
        request = self._http.build_request("POST", url, data=form, headers=headers)
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._http.send(request)
            except _TRANSIENT_ERRORS as exc:
                if attempt == attempts:
                    logger.warning(
                        "token request failed",
                        extra={"attempt": attempt, "error": type(exc).__name__},
                    )
                    raise TokenRequestFailed(
                        f"the token endpoint could not be reached ({type(exc).__name__})"
                    ) from exc
                await asyncio.sleep(self._backoff(attempt))
                continue
            if response.status_code in RETRYABLE_STATUSES and attempt < attempts:
                delay = self._retry_delay(response, attempt)
                if delay is not None:
                    await response.aclose()
                    await asyncio.sleep(delay)
                    continue
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _token_error(response: httpx.Response) -> TokenRequestFailed:
        try:
            problem = _ErrorResponse.model_validate_json(response.content)
        except ValidationError:
            problem = None
        error = problem.error if problem is not None else None
        logger.warning(
            "token request refused", extra={"status": response.status_code, "error": error}
        )
        return TokenRequestFailed(
            f"the token endpoint refused: {response.status_code} {error or '(no error code)'}",
            status=response.status_code,
            error=error,
            description=problem.error_description if problem is not None else None,
        )
