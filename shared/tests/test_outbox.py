"""`baton.outbox` on a real PostgreSQL: once-only handling, retries, dead letters, workers.

Each test gets an outbox table of its own in a scratch schema of the referrals
database (created by the schema owner, granted to the runtime role, dropped at
the end, so it never shows in referral-api's `alembic check`); the workers use
the runtime role, as a service does.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from baton import outbox
from baton.outbox import Handler, OutboxWorker, Permanent, RetryLater
from baton.stack.databases import ServiceDatabase

SCHEMA = "kit_outbox_probe"
RUNTIME_ROLE = "referrals_app"
TOPIC = "probe.thing"
effects = sa.Table(
    "outbox_effect",
    sa.MetaData(schema=SCHEMA),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("message_id", sa.Uuid, nullable=False),
)


@pytest.fixture(scope="module")
async def owner_engine(
    service_databases: dict[str, ServiceDatabase],
) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(service_databases["referrals"].migration_url)
    async with engine.begin() as connection:
        await connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await connection.run_sync(effects.metadata.create_all)
        await connection.execute(sa.text(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {RUNTIME_ROLE}"))
        await connection.execute(
            sa.text(f"GRANT SELECT, INSERT, DELETE ON {effects.fullname} TO {RUNTIME_ROLE}")
        )
    try:
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
        await engine.dispose()


async def _create(owner: AsyncEngine, table: sa.Table) -> None:
    async with owner.begin() as connection:
        await connection.run_sync(table.metadata.create_all)
        await connection.execute(
            sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table.fullname} TO {RUNTIME_ROLE}")
        )


def _new_table() -> sa.Table:
    return outbox.outbox_table(sa.MetaData(schema=SCHEMA), name=f"outbox_{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def table(owner_engine: AsyncEngine) -> AsyncIterator[sa.Table]:
    """A fresh outbox: no other test's messages are ever due in it."""
    created = _new_table()
    await _create(owner_engine, created)
    try:
        yield created
    finally:
        async with owner_engine.begin() as connection:
            await connection.run_sync(created.metadata.drop_all)


@pytest.fixture(scope="module")
async def sessionmaker(
    service_databases: dict[str, ServiceDatabase],
    owner_engine: AsyncEngine,  # noqa: ARG001 - the schema must exist
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(service_databases["referrals"].runtime_url, pool_size=6)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@dataclass
class Probe:
    """A handler for TOPIC whose behaviour the test sets; records every call."""

    calls: list[uuid.UUID] = field(default_factory=list)
    # Raised by the next calls, in order; then the handler succeeds.
    failures: list[Exception] = field(default_factory=list)
    delay: float = 0.0
    running: int = 0
    most_running: int = 0
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(
        self, session: AsyncSession, message_id: uuid.UUID, payload: dict[str, Any]
    ) -> None:
        self.calls.append(message_id)
        self.called.set()
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            # Written before failing: a failure must leave none of it behind.
            await session.execute(sa.insert(effects).values(id=uuid.uuid4(), message_id=message_id))
            assert set(payload) == {"thing_id"}
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.failures:
                raise self.failures.pop(0)
        finally:
            self.running -= 1


def _worker(
    sessionmaker: async_sessionmaker[AsyncSession],
    table: sa.Table,
    handlers: dict[str, Handler],
    **options: Any,
) -> OutboxWorker:
    settings: dict[str, Any] = {"backoff_seconds": 10.0, "max_backoff_seconds": 600.0, **options}
    return OutboxWorker(sessionmaker, table, handlers, **settings)


async def _enqueue(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, topic: str = TOPIC
) -> uuid.UUID:
    async with sessionmaker() as session, session.begin():
        return await outbox.enqueue(session, table, topic, {"thing_id": str(uuid.uuid4())})


async def _row(engine: AsyncEngine, table: sa.Table, message_id: uuid.UUID) -> sa.Row[Any]:
    async with engine.connect() as connection:
        result = await connection.execute(sa.select(table).where(table.c.id == message_id))
        return result.one()


async def _effects_of(engine: AsyncEngine, message_id: uuid.UUID) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            sa.select(sa.func.count()).where(effects.c.message_id == message_id)
        )
    return int(count or 0)


async def _make_due(engine: AsyncEngine, table: sa.Table) -> None:
    """Skip the back-off: every waiting message is due now."""
    async with engine.begin() as connection:
        await connection.execute(sa.update(table).values(available_at=sa.func.now()))


async def _db_now(engine: AsyncEngine) -> datetime:
    async with engine.connect() as connection:
        now = await connection.scalar(sa.select(sa.func.now()))
    assert isinstance(now, datetime)
    return now


def _seconds_after(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


async def test_a_message_of_a_rolled_back_transaction_never_exists(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    async with sessionmaker() as session:
        async with session.begin():
            kept = await outbox.enqueue(session, table, TOPIC, {"thing_id": "kept"})
        transaction = await session.begin()
        lost = await outbox.enqueue(session, table, TOPIC, {"thing_id": "lost"})
        await transaction.rollback()
    async with owner_engine.connect() as connection:
        stored = (await connection.execute(sa.select(table.c.id))).scalars().all()
    assert stored == [kept]
    assert lost != kept

    probe = Probe()
    assert await _worker(sessionmaker, table, {TOPIC: probe}).run_once() == 1
    assert probe.calls == [kept]


async def test_a_handled_message_is_processed_once(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    message_id = await _enqueue(sessionmaker, table)
    probe = Probe()
    worker = _worker(sessionmaker, table, {TOPIC: probe})
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    await _make_due(owner_engine, table)
    assert await worker.run_once() == 0
    assert probe.calls == [message_id]
    row = await _row(owner_engine, table, message_id)
    assert (row.attempts, row.last_error, row.dead_at) == (1, None, None)
    assert row.processed_at is not None
    assert await _effects_of(owner_engine, message_id) == 1


async def test_a_failing_handler_is_retried_with_growing_back_off_and_its_writes_undone(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    message_id = await _enqueue(sessionmaker, table)
    probe = Probe(failures=[ValueError("peer said: Ardita Kovaci"), KeyError("x"), OSError()])
    worker = _worker(sessionmaker, table, {TOPIC: probe}, backoff_seconds=10.0)

    # The n-th failure waits between half and all of 10 * 2^(n-1) seconds (jitter).
    for attempt, error in ((1, "ValueError"), (2, "KeyError"), (3, "OSError")):
        before = await _db_now(owner_engine)
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0  # not due again yet
        row = await _row(owner_engine, table, message_id)
        assert (row.attempts, row.last_error) == (attempt, error)
        assert row.processed_at is None
        assert row.dead_at is None
        ceiling = 10.0 * 2 ** (attempt - 1)
        assert ceiling / 2 - 1 <= _seconds_after(row.available_at, before) <= ceiling + 1
        # Its insert was undone with the savepoint; the bookkeeping above was not.
        assert await _effects_of(owner_engine, message_id) == 0
        await _make_due(owner_engine, table)

    assert await worker.run_once() == 1
    row = await _row(owner_engine, table, message_id)
    assert (row.attempts, row.last_error) == (4, None)
    assert row.processed_at is not None
    assert await _effects_of(owner_engine, message_id) == 1
    assert probe.calls == [message_id] * 4


async def test_the_back_off_never_exceeds_its_maximum(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    message_id = await _enqueue(sessionmaker, table)
    probe = Probe(failures=[RuntimeError()] * 12)
    worker = _worker(sessionmaker, table, {TOPIC: probe}, backoff_seconds=10.0, max_attempts=20)
    worker.max_backoff_seconds = 30.0
    for _ in range(6):
        before = await _db_now(owner_engine)
        assert await worker.run_once() == 1
        row = await _row(owner_engine, table, message_id)
        assert _seconds_after(row.available_at, before) <= 30.0 + 1
        await _make_due(owner_engine, table)
    assert row.attempts == 6


@pytest.mark.parametrize(("asked", "expected"), [(120.0, 120.0), (10_000.0, 600.0), (0.0, 0.0)])
async def test_retry_later_waits_as_long_as_the_handler_asks_within_the_maximum(
    sessionmaker: async_sessionmaker[AsyncSession],
    table: sa.Table,
    owner_engine: AsyncEngine,
    asked: float,
    expected: float,
) -> None:
    message_id = await _enqueue(sessionmaker, table)
    probe = Probe(failures=[RetryLater("peer-busy", after_seconds=asked)])
    worker = _worker(sessionmaker, table, {TOPIC: probe}, batch_size=1)
    before = await _db_now(owner_engine)
    assert await worker.run_once() == 1
    row = await _row(owner_engine, table, message_id)
    assert (row.attempts, row.last_error, row.processed_at) == (1, "peer-busy", None)
    assert expected - 1 <= _seconds_after(row.available_at, before) <= expected + 1


async def test_retry_later_without_a_delay_backs_off_like_any_failure(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    message_id = await _enqueue(sessionmaker, table)
    probe = Probe(failures=[RetryLater("http-503")])
    before = await _db_now(owner_engine)
    assert await _worker(sessionmaker, table, {TOPIC: probe}).run_once() == 1
    row = await _row(owner_engine, table, message_id)
    assert row.last_error == "http-503"
    assert 5 - 1 <= _seconds_after(row.available_at, before) <= 10 + 1


async def test_a_permanent_failure_is_dead_lettered_at_once(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    message_id = await _enqueue(sessionmaker, table)
    probe = Probe(failures=[Permanent("thing-gone")])
    worker = _worker(sessionmaker, table, {TOPIC: probe})
    assert await worker.run_once() == 1
    await _make_due(owner_engine, table)
    assert await worker.run_once() == 0
    row = await _row(owner_engine, table, message_id)
    assert (row.attempts, row.last_error, row.processed_at) == (1, "thing-gone", None)
    assert row.dead_at is not None
    assert await _effects_of(owner_engine, message_id) == 0
    assert probe.calls == [message_id]


async def test_after_max_attempts_a_message_is_dead_lettered_and_a_replay_brings_it_back(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    message_id = await _enqueue(sessionmaker, table)
    probe = Probe(failures=[RetryLater("http-500")] * 3)
    worker = _worker(sessionmaker, table, {TOPIC: probe}, max_attempts=3)
    for _ in range(3):
        assert await worker.run_once() == 1
        await _make_due(owner_engine, table)
    assert await worker.run_once() == 0
    dead = await _row(owner_engine, table, message_id)
    assert (dead.attempts, dead.last_error, dead.processed_at) == (3, "http-500", None)
    assert dead.dead_at is not None
    assert len(probe.calls) == 3

    async with sessionmaker() as session, session.begin():
        assert await outbox.replay(session, table, message_id)
    replayed = await _row(owner_engine, table, message_id)
    assert (replayed.attempts, replayed.last_error, replayed.dead_at) == (0, None, None)
    assert await worker.run_once() == 1
    done = await _row(owner_engine, table, message_id)
    assert done.processed_at is not None
    assert done.attempts == 1
    assert await _effects_of(owner_engine, message_id) == 1

    # Only a dead message can be replayed: a processed one is left as it is.
    async with sessionmaker() as session, session.begin():
        assert not await outbox.replay(session, table, message_id)
        assert not await outbox.replay(session, table, uuid.uuid4())
    assert (await _row(owner_engine, table, message_id)).processed_at == done.processed_at


async def test_a_message_of_a_topic_without_a_handler_is_dead_lettered(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    orphan = await _enqueue(sessionmaker, table, topic="probe.unknown")
    probe = Probe()
    assert await _worker(sessionmaker, table, {TOPIC: probe}).run_once() == 1
    row = await _row(owner_engine, table, orphan)
    assert row.dead_at is not None
    assert (row.attempts, row.last_error) == (1, "no handler for this topic")
    assert probe.calls == []


async def test_concurrent_workers_never_handle_a_message_twice_and_together_handle_all(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table, owner_engine: AsyncEngine
) -> None:
    enqueued = {await _enqueue(sessionmaker, table) for _ in range(24)}
    probe = Probe(delay=0.02)
    first = _worker(sessionmaker, table, {TOPIC: probe}, batch_size=5)
    second = _worker(sessionmaker, table, {TOPIC: probe}, batch_size=5)

    async def drain(worker: OutboxWorker) -> int:
        handled = 0
        while tried := await worker.run_once():
            handled += tried
        return handled

    handled = await asyncio.gather(drain(first), drain(second), drain(first))
    counts = Counter(probe.calls)
    assert set(counts) == enqueued
    assert set(counts.values()) == {1}
    assert sum(handled) == len(enqueued)
    # They really ran side by side, each skipping what the other held.
    assert probe.most_running >= 2
    assert all(share > 0 for share in handled)
    for message_id in enqueued:
        assert await _effects_of(owner_engine, message_id) == 1


class PollFailures(logging.Handler):
    """Records the worker's failed polls; `twice` is set at the second one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.twice = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "outbox poll failed":
            self.records.append(record)
            if len(self.records) >= 2:
                self.twice.set()


async def test_run_keeps_polling_after_a_database_error_and_stops_on_the_event(
    sessionmaker: async_sessionmaker[AsyncSession], owner_engine: AsyncEngine
) -> None:
    # The worker starts before its table exists: every poll fails until it does.
    missing = _new_table()
    probe = Probe()
    worker = _worker(sessionmaker, missing, {TOPIC: probe}, poll_seconds=0.02)
    failures = PollFailures()
    logger = logging.getLogger("baton.outbox")
    logger.addHandler(failures)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(5):
            await failures.twice.wait()
        await _create(owner_engine, missing)
        message_id = await _enqueue(sessionmaker, missing)
        async with asyncio.timeout(5):
            await probe.called.wait()
        assert probe.calls == [message_id]
        assert not running.done()
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=2)
        logger.removeHandler(failures)
        async with owner_engine.begin() as connection:
            await connection.run_sync(missing.metadata.drop_all)
    assert failures.records[0].__dict__["error_type"] == "ProgrammingError"


async def test_run_returns_when_stopped_without_waiting_for_the_next_poll(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table
) -> None:
    worker = _worker(sessionmaker, table, {}, poll_seconds=60)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.2)
    assert not running.done()
    stop.set()
    await asyncio.wait_for(running, timeout=2)


def test_the_table_has_a_partial_index_of_due_messages() -> None:
    table = outbox.outbox_table(sa.MetaData(), name="things_outbox")
    [index] = table.indexes
    assert index.name == "ix_things_outbox_due"
    assert [column.name for column in index.columns] == ["available_at"]
    assert str(index.dialect_options["postgresql"]["where"]) == (
        "processed_at IS NULL AND dead_at IS NULL"
    )


def test_the_delay_doubles_per_attempt_with_jitter_and_a_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = OutboxWorker(
        async_sessionmaker(), sa.Table("t", sa.MetaData()), {}, backoff_seconds=2.0
    )
    monkeypatch.setattr("baton.outbox.random.uniform", lambda _, high: high)
    assert [worker._delay(n, None) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    monkeypatch.setattr("baton.outbox.random.uniform", lambda low, _: low)
    assert [worker._delay(n, None) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert worker._delay(3, 5.0) == 5.0
    assert worker._delay(30, None) <= worker.max_backoff_seconds
    assert timedelta(seconds=worker._delay(1, 0.0)) == timedelta(0)


async def test_a_committed_message_wakes_this_process_worker_before_its_next_poll(
    sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table
) -> None:
    probe = Probe()
    # A poll a minute apart: only the wake-up can explain a quick hand-over.
    worker = _worker(sessionmaker, table, {TOPIC: probe}, poll_seconds=60)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(0.2)  # the first (empty) poll is over; the worker waits
        message_id = await _enqueue(sessionmaker, table)
        async with asyncio.timeout(5):
            await probe.called.wait()
        assert probe.calls == [message_id]
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=2)
