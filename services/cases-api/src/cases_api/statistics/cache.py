"""Counts made once and reused while the data they counted is unchanged.

A donor report asks for seven tables over every recipient NGO, each a pass over
their cases; dashboards ask again and again. Counts are kept (bounded, least
recently used first) with the summed version of their organisations' data and the
database's date (phases depend on it); they are reused only while both are still
what they were, checked in one short query per request, so a reused table is the
table a fresh count would give. While one request counts, the others asking for
the same counts wait for it without holding a database connection. Only raw
counts are kept, inside cases-api; suppression runs on every answer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

Counts = Mapping[tuple[str, str], int]

_STATE = text("SELECT statistics_version_of(CAST(:organisations AS uuid[])), current_date")


@dataclass(frozen=True)
class CountsKey:
    """What was counted: the function, whose persons, the period and the dimensions."""

    function: str
    organisations: tuple[uuid.UUID, ...]
    start: date
    end: date
    dimensions: tuple[str, str]


@dataclass(frozen=True)
class _Kept:
    counts: Counts
    version: int
    day: date


class CountsCache:
    """Reuses counts while their organisations' data version and the date are unchanged."""

    def __init__(self, max_entries: int, requests: Counter | None = None) -> None:
        self.max_entries = max_entries
        self._kept: OrderedDict[CountsKey, _Kept] = OrderedDict()
        self._counting: dict[CountsKey, asyncio.Event] = {}
        self._requests = requests

    async def counts(
        self,
        session: AsyncSession,
        key: CountsKey,
        count: Callable[[], Awaitable[Counts]],
    ) -> Counts:
        """The counts of `key`: kept ones if still current, else `count()`'s, then kept."""
        if self.max_entries == 0:
            self._observe(key, "counted")
            return await count()
        while True:
            kept = self._kept.get(key)
            if kept is not None and await _state(session, key) == (kept.version, kept.day):
                self._kept.move_to_end(key)
                self._observe(key, "reused")
                return kept.counts
            counting = self._counting.get(key)
            if counting is None:
                break
            # Another request is counting the same: wait for it holding no connection,
            # then check its counts like any kept ones (or count, if it failed).
            await session.rollback()
            await counting.wait()
        done = self._counting[key] = asyncio.Event()
        try:
            # Read before counting: a write in between leaves the counts marked older
            # than they are (counted again next time), never newer.
            version, day = await _state(session, key)
            counts = await count()
            self._keep(key, _Kept(counts, version, day))
            self._observe(key, "counted")
            return counts
        finally:
            del self._counting[key]
            done.set()

    def _keep(self, key: CountsKey, kept: _Kept) -> None:
        self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > self.max_entries:
            self._kept.popitem(last=False)

    def _observe(self, key: CountsKey, result: str) -> None:
        if self._requests is not None:
            self._requests.labels(function=key.function, result=result).inc()


async def _state(session: AsyncSession, key: CountsKey) -> tuple[int, date]:
    row = (
        await session.execute(_STATE, {"organisations": [str(o) for o in key.organisations]})
    ).one()
    return int(row[0]), row[1]
