"""The transactional outbox: side effects that must happen once the work commits.

A service writes a message in the same transaction as the change that calls for
it (a hand-off to another service, a webhook); if the transaction rolls back, the
message never existed. A worker then delivers each message at least once:
it claims due messages with `FOR UPDATE SKIP LOCKED` (several workers never take
the same one), runs the topic's handler, and marks the message done in the same
transaction. A failing handler is retried with exponential back-off and ends
dead-lettered after `max_attempts`; a dead message can be replayed. Handlers must
be idempotent (the receiver may have acted before a crash lost our commit).

A message keeps the W3C trace context of the work that wrote it (under
`TRACE_CONTEXT_KEY` in its payload, taken out before the handler sees it): what
the handler does, calls to peers included, joins that request's trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from opentelemetry.trace import Tracer
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from baton.db import utcnow
from baton.telemetry import continued_span, current_traceparent

logger = logging.getLogger("baton.outbox")

# Where a message keeps the `traceparent` of the work that wrote it (only when traced).
TRACE_CONTEXT_KEY = "_traceparent"


def outbox_table(metadata: sa.MetaData, name: str = "outbox_message") -> sa.Table:
    """The outbox, in a service's own metadata (and its migrations)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("topic", sa.String(100), nullable=False),
        # Ids and codes only: never an identity (messages are logged and kept).
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        # The last failure's exception type or status, never its message.
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.Index(
            f"ix_{name}_due",
            "available_at",
            postgresql_where=sa.text("processed_at IS NULL AND dead_at IS NULL"),
        ),
    )


async def enqueue(
    session: AsyncSession,
    table: sa.Table,
    topic: str,
    payload: Mapping[str, Any],
    *,
    available_at: datetime | None = None,
) -> uuid.UUID:
    """Add a message in the caller's transaction; it exists only if that commits."""
    message_id = uuid.uuid4()
    now = utcnow()
    stored = dict(payload)
    traceparent = current_traceparent()
    if traceparent is not None:
        stored[TRACE_CONTEXT_KEY] = traceparent
    await session.execute(
        sa.insert(table).values(
            id=message_id,
            topic=topic,
            payload=stored,
            created_at=now,
            available_at=available_at or now,
            attempts=0,
        )
    )
    if available_at is None:
        # Once (and only if) this commits, a worker of this process looks at once
        # instead of at its next poll; workers elsewhere still find it by polling.
        event.listen(session.sync_session, "after_commit", _waker(table.name), once=True)
    return message_id


# Per outbox table, the wake-up events of the workers running in this process.
_WORKERS_AWAKE: dict[str, set[asyncio.Event]] = {}


def _waker(table_name: str) -> Callable[[Any], None]:
    def wake(_: Any) -> None:
        for awake in _WORKERS_AWAKE.get(table_name, ()):
            awake.set()

    return wake


class RetryLater(Exception):
    """A handler's way to say: not now (the peer is down, or asked to wait)."""

    def __init__(self, reason: str, after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_seconds = after_seconds


class Permanent(Exception):
    """A handler's way to say: this message can never succeed; dead-letter it now."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# (session of the message's transaction, message id, payload) -> None
Handler = Callable[[AsyncSession, uuid.UUID, dict[str, Any]], Awaitable[None]]


@dataclass
class OutboxWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    table: sa.Table
    handlers: Mapping[str, Handler]
    poll_seconds: float = 1.0
    max_attempts: int = 10
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 600.0
    batch_size: int = 20
    # The app's tracer (`baton.app.tracer_of`): a span per message, in its writer's trace.
    tracer: Tracer | None = None

    def _delay(self, attempts: int, asked: float | None) -> float:
        if asked is not None:
            return min(asked, self.max_backoff_seconds)
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2.0 ** (attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter: no thundering herd

    async def run_once(self) -> int:
        """Handle the messages due now, one transaction each; returns how many were tried."""
        tried = 0
        while tried < self.batch_size:
            async with self.sessionmaker() as session, session.begin():
                row = (
                    await session.execute(
                        sa.select(self.table)
                        .where(
                            self.table.c.processed_at.is_(None),
                            self.table.c.dead_at.is_(None),
                            self.table.c.available_at <= sa.func.now(),
                        )
                        .order_by(self.table.c.available_at)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if row is None:
                    return tried
                tried += 1
                await self._handle(session, row)
        return tried

    async def _handle(self, session: AsyncSession, row: sa.Row[Any]) -> None:
        values: dict[str, Any] = {"attempts": row.attempts + 1}
        handler = self.handlers.get(row.topic)
        fields = {"message_id": str(row.id), "topic": row.topic, "attempt": row.attempts + 1}
        payload = dict(row.payload)
        traceparent = payload.pop(TRACE_CONTEXT_KEY, None)
        span_attributes = {
            "messaging.system": "baton.outbox",
            "messaging.operation.type": "process",
            "messaging.destination.name": row.topic,
            "messaging.message.id": str(row.id),
        }
        try:
            if handler is None:
                raise Permanent("no handler for this topic")
            with continued_span(self.tracer, f"process {row.topic}", traceparent, span_attributes):
                # A savepoint: a failing handler's writes are undone, the bookkeeping is not.
                async with session.begin_nested():
                    await handler(session, row.id, payload)
        except Permanent as exc:
            values |= {"dead_at": utcnow(), "last_error": exc.reason[:200]}
            logger.error("outbox message dead-lettered", extra={**fields, "reason": exc.reason})
        except Exception as exc:  # every other failure is retried, then dead-lettered
            reason = exc.reason if isinstance(exc, RetryLater) else type(exc).__name__
            values["last_error"] = reason[:200]
            if row.attempts + 1 >= self.max_attempts:
                values["dead_at"] = utcnow()
                logger.error("outbox message dead-lettered", extra={**fields, "reason": reason})
            else:
                asked = exc.after_seconds if isinstance(exc, RetryLater) else None
                delay = self._delay(row.attempts + 1, asked)
                values["available_at"] = utcnow() + timedelta(seconds=delay)
                logger.warning("outbox message retried", extra={**fields, "reason": reason})
        else:
            values |= {"processed_at": utcnow(), "last_error": None}
        await session.execute(
            sa.update(self.table).where(self.table.c.id == row.id).values(**values)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a failing poll (database down) is logged and retried.

        Between polls it also wakes when this process commits a message (see `enqueue`).
        """
        awake = asyncio.Event()
        _WORKERS_AWAKE.setdefault(self.table.name, set()).add(awake)
        try:
            while not stop.is_set():
                awake.clear()
                try:
                    busy = await self.run_once()
                except Exception as exc:
                    logger.error("outbox poll failed", extra={"error_type": type(exc).__name__})
                    busy = 0
                if busy == 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.poll_seconds):
                            await _first_of(stop, awake)
        finally:
            _WORKERS_AWAKE[self.table.name].discard(awake)


async def _first_of(*events: asyncio.Event) -> None:
    """Wait until one of `events` is set."""
    waiters = [asyncio.ensure_future(happened.wait()) for happened in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def replay(session: AsyncSession, table: sa.Table, message_id: uuid.UUID) -> bool:
    """Bring a dead-lettered message back (attempts reset); False if it is not dead."""
    result = await session.execute(
        sa.update(table)
        .where(table.c.id == message_id, table.c.dead_at.is_not(None))
        .values(dead_at=None, attempts=0, available_at=utcnow(), last_error=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
