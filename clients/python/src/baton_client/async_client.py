"""`AsyncBatonClient`: Baton's API through its gateway, for asyncio code."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from baton_client.calls import USER_AGENT, Call, Params, page_of, prepare
from baton_client.retries import RENEW, RetryPolicy, after_try
from baton_client.tokens import ClientCredentials, TokenCache


class AsyncBatonClient:
    """`BatonClient` for asyncio: the same calls, awaited; `token` may be async too."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: ClientCredentials | None = None,
        token: Callable[[], str | Awaitable[str]] | None = None,
        timeout: float | httpx.Timeout = 15.0,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if (credentials is None) == (token is None):
            raise ValueError("give either credentials or token")
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._token_source = token
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._owned = http_client is None
        self._http = http_client or httpx.AsyncClient(headers={"User-Agent": USER_AGENT})
        self._tokens = TokenCache()
        self._token_lock = asyncio.Lock()

    async def __aenter__(self) -> AsyncBatonClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def access_token(self) -> str:
        """The bearer token the next call sends."""
        if self._token_source is not None:
            token = self._token_source()
            return await token if inspect.isawaitable(token) else token
        assert self._credentials is not None
        async with self._token_lock:  # one fetch for all the tasks that need one
            held = self._tokens.fresh()
            if held is not None:
                return held
            asked_at = time.monotonic()
            answer = await self._send(
                self._credentials.token_call(self.base_url), authenticate=False
            )
            return self._tokens.keep(answer, asked_at)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        """One call; a POST carries `idempotency_key` (a new UUID unless given)."""
        call = prepare(
            self.base_url,
            method,
            path,
            params=params,
            json=json,
            headers=headers,
            idempotency_key=idempotency_key,
            if_match=if_match,
        )
        return await self._send(call, authenticate=True)

    async def get(
        self, path: str, *, params: Params | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        return await self.request("GET", path, params=params, headers=headers)

    async def post(
        self,
        path: str,
        json: Any = None,
        *,
        idempotency_key: str | None = None,
        if_match: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """A POST; pass your own `idempotency_key` to make a retry after a crash safe too."""
        return await self.request(
            "POST",
            path,
            json=json,
            headers=headers,
            idempotency_key=idempotency_key,
            if_match=if_match,
        )

    async def put(
        self,
        path: str,
        json: Any = None,
        *,
        if_match: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self.request("PUT", path, json=json, headers=headers, if_match=if_match)

    async def patch(
        self,
        path: str,
        json: Any = None,
        *,
        if_match: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self.request("PATCH", path, json=json, headers=headers, if_match=if_match)

    async def delete(
        self, path: str, *, if_match: str | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        return await self.request("DELETE", path, headers=headers, if_match=if_match)

    async def update(self, path: str, json: Any, *, etag: str) -> httpx.Response:
        """PATCH the record whose version you read (`etag(response)`); 412 if it changed since."""
        return await self.patch(path, json, if_match=etag)

    async def paginate(self, path: str, params: Params | None = None) -> AsyncIterator[Any]:
        """Every item of a list, page after page (following `next_cursor`)."""
        cursor: str | None = None
        while True:
            page_params = {**(params or {}), **({"cursor": cursor} if cursor else {})}
            items, cursor = page_of(await self.get(path, params=page_params))
            for item in items:
                yield item
            if cursor is None:
                return

    async def _send(self, call: Call, *, authenticate: bool) -> httpx.Response:
        tries, renewed = 0, False
        while True:
            token = await self.access_token() if authenticate else None
            headers = {**call.headers, **({"Authorization": f"Bearer {token}"} if token else {})}
            tries += 1
            outcome: httpx.Response | Exception
            try:
                outcome = await self._http.request(
                    call.method,
                    call.url,
                    params=call.params,
                    json=call.json,
                    data=call.data,
                    headers=headers,
                    auth=call.auth or httpx.USE_CLIENT_DEFAULT,
                    timeout=self._timeout,
                )
            except Exception as error:
                outcome = error
            step = after_try(
                call, self._retry, tries, outcome, may_renew=bool(token) and not renewed
            )
            if isinstance(step, httpx.Response):
                return step
            if step == RENEW and token is not None:
                self._tokens.drop(token)
                renewed = True
            elif isinstance(step, float):
                await asyncio.sleep(step)
