"""When a call is tried again, and after how long.

Only a call that cannot take effect twice is ever repeated: a GET, HEAD, OPTIONS,
PUT or DELETE, or a call carrying an `Idempotency-Key` (Baton answers its retry
with the first response, `Idempotent-Replayed: true`). It is repeated after a
network failure, a 429, 502, 503 or 504, or a 409 `idempotency-key-in-progress`
(the first try still running), waiting as long as `Retry-After` asks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import httpx

from baton_client.calls import Call
from baton_client.problems import problem_code, problem_from, retry_after

RETRIED_STATUSES = frozenset({429, 502, 503, 504})
IN_PROGRESS = "idempotency-key-in-progress"
# The request may not have arrived, or its answer was lost: safe to repeat a safe call.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How many tries a call gets, and the pauses between them."""

    # Tries in all, the first included.
    attempts: int = 4
    # The first pause without `Retry-After`; it doubles at each try (with jitter).
    backoff: float = 0.5
    # The longest pause; a server asking for more is not retried (its problem is raised,
    # with `retry_after`, for the caller to schedule).
    max_delay: float = 30.0

    def pause(self, tries: int, outcome: httpx.Response | Exception) -> float | None:
        """Seconds to wait before trying again after `tries` tries ended in `outcome`.

        None when the call must not be repeated. The caller checks first that the
        call is one that may be repeated at all.
        """
        if tries >= self.attempts:
            return None
        if isinstance(outcome, Exception):
            return self._backoff(tries) if isinstance(outcome, TRANSIENT_ERRORS) else None
        status = outcome.status_code
        if status not in RETRIED_STATUSES and not (
            status == 409 and problem_code(outcome) == IN_PROGRESS
        ):
            return None
        asked = retry_after(outcome)
        if asked is None:
            return self._backoff(tries)
        return asked if asked <= self.max_delay else None

    def _backoff(self, tries: int) -> float:
        ceiling = min(self.max_delay, self.backoff * 2.0 ** (tries - 1))
        # Jitter keeps many clients that failed together from retrying together.
        return ceiling * random.uniform(0.5, 1.0)


# `after_try`'s answer when Baton refused the token: renew it and try again at once.
RENEW: Literal["renew"] = "renew"


def after_try(
    call: Call,
    policy: RetryPolicy,
    tries: int,
    outcome: httpx.Response | Exception,
    *,
    may_renew: bool,
) -> httpx.Response | float | Literal["renew"]:
    """What follows a try: its response to return, `RENEW`, or seconds to wait and go again.

    Raises when the call failed for good: the transport's error, or `BatonProblem`.
    A 401 renews the token once (`may_renew`): it was refused before any work was done.
    """
    if isinstance(outcome, httpx.Response):
        if outcome.status_code == 401 and may_renew:
            return RENEW
        if outcome.status_code < 400:
            return outcome
    pause = policy.pause(tries, outcome) if call.repeatable else None
    if pause is not None:
        return pause
    if isinstance(outcome, Exception):
        raise outcome
    raise problem_from(outcome)
