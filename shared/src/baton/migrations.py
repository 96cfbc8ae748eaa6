"""Alembic, driven from code: one migration tree per service, inside its package.

A service's `migrations/env.py` is two lines: it hands its metadata to
`run_env`. Everything else (async engine, naming, transactions) is decided here.
"""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class MigrationTree:
    """Where a service keeps its Alembic scripts: `<package>/migrations`."""

    package: str

    @property
    def script_location(self) -> Path:
        module = importlib.import_module(self.package)
        assert module.__file__ is not None
        return Path(module.__file__).parent / "migrations"

    def config(self, database_url: str) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.script_location))
        # Alembic's ini interpolation would choke on '%' in a password.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
        config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
        config.set_main_option("version_table", VERSION_TABLE)
        return config

    def heads(self) -> set[str]:
        script = ScriptDirectory(str(self.script_location))
        return set(script.get_heads())

    def upgrade(self, database_url: str) -> None:
        """Migrate to head; blocking (call it from a thread inside an event loop)."""
        command.upgrade(self.config(database_url), "head")

    def check(self, database_url: str) -> None:
        """Fail if the models hold changes that no migration records."""
        command.check(self.config(database_url))


def _run_sync(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync, target_metadata)
    finally:
        await engine.dispose()


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's `env.py`."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no sqlalchemy.url: run migrations through baton.migrations")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))
