"""`Idempotency-Key` for grants-api's POSTs: the work is done once, a retry gets its answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from baton import idempotency
from baton.auth import Principal
from grants_api.grants.models import IdempotencyKey

AnswerT = TypeVar("AnswerT", bound=BaseModel)


async def answer_once(
    session: AsyncSession,
    principal: Principal,
    key: idempotency.RequestKey | None,
    body: BaseModel | None,
    work: Callable[[], Awaitable[AnswerT]],
    *,
    status: int = 200,
    response: Response | None = None,
) -> AnswerT | Response:
    """`work`'s answer, remembered under the request's key with `status` and the ETag and
    Location `work` set on `response`; a retry of the same request gets them back instead
    of doing the work twice."""
    claim = await idempotency.claim(session, IdempotencyKey, principal, key, body)
    if claim.replay is not None:
        return claim.replay.response()
    answer = await work()
    await claim.remember(status, answer, response.headers if response is not None else {})
    return answer
