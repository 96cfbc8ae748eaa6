"""Async database access: one engine per service, one session per request.

The session is committed before the response is sent (a function-scoped
dependency), so a client never sees 200 for a write that then failed to commit.
Services only `flush()`; the commit belongs to this edge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import registry

from baton.settings import ServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


POOL_RECYCLE_SECONDS = 1800  # under the idle timeouts of proxies and firewalls


def utcnow() -> datetime:
    """Now, timezone-aware UTC: every stored timestamp is one."""
    return datetime.now(UTC)


def new_registry() -> registry:
    """A model registry of its own for one service.

    `SQLModel.metadata` is process-global; services that share a process (tests do)
    would mix their tables. Each service bases its tables on
    `class XTable(SQLModel, registry=new_registry())`.
    """
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Database:
    """The engine and session factory of one service, created in its lifespan."""

    def __init__(self, settings: ServiceSettings, *, application_name: str) -> None:
        self.engine: AsyncEngine = create_async_engine(
            settings.database_url.get_secret_value(),
            pool_size=settings.database_pool_size,
            # No overflow: under sustained load SQLAlchemy would open and close overflow
            # connections request after request (a new PostgreSQL backend each time);
            # waiting for a pooled one is far cheaper (`make bench`: case reads 1.5x).
            max_overflow=0,
            # No ping before each checkout (a round trip per request): a connection the
            # server dropped fails its request with a 503 (baton.errors) and SQLAlchemy
            # then discards every older pooled connection; the next request reconnects.
            pool_pre_ping=False,
            pool_recycle=POOL_RECYCLE_SECONDS,
            pool_timeout=settings.database_connect_timeout_seconds,
            connect_args={
                "timeout": settings.database_connect_timeout_seconds,
                "server_settings": {
                    "application_name": application_name,
                    "statement_timeout": str(settings.database_statement_timeout_ms),
                    "timezone": "UTC",
                },
            },
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def applied_revisions(self, version_table: str) -> set[str]:
        """Revisions recorded by Alembic (none if it never ran)."""
        async with self.engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT to_regclass(:name)"), {"name": version_table}
            )
            if exists is None:
                return set()
            rows = await connection.execute(text(f'SELECT version_num FROM "{version_table}"'))
            return {row[0] for row in rows}


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _request_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    async with database.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit runs when the endpoint returns, before the response goes out.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


@asynccontextmanager
async def command_session(
    settings: ServiceSettings, application_name: str
) -> AsyncIterator[AsyncSession]:
    """One session for a one-off command: committed if the block ends well, then closed."""
    database = Database(settings, application_name=application_name)
    try:
        async with database.sessionmaker() as session:
            yield session
            await session.commit()
    finally:
        await database.dispose()
