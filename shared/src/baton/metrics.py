"""Prometheus metrics of one service, served at `GET /metrics` on the service's own port.

Every app gets a registry of its own (tests build several apps in one process):
requests by method, route template and status, their latency, the database pool,
and what a service registers besides (its outbox backlog, webhook failures).
Labels only ever hold bounded, non-identifying values: a route's template, never
its path (paths carry ids), and never a query string, a token or an organisation.
The gateway refuses `/<service>/metrics`: only a scraper on the inside reads it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, Protocol

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Header, Request, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool
from starlette.routing import BaseRoute

from baton.authz import public

logger = logging.getLogger("baton.metrics")

METRICS_PATH = "/metrics"
# A request no route matched: its path is the client's invention, so it is not a label.
UNMATCHED_ROUTE = "unmatched"
OTHER_METHOD = "other"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; from a cached token check (milliseconds) to the gateway's timeouts (15-30 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ScrapeTimeCollector(Protocol):
    """A collector whose values need async work (a query) just before each scrape."""

    def collect(self) -> Iterable[Metric]: ...

    async def refresh(self) -> None: ...


class ServiceMetrics:
    """The registry of one app, and the request metrics the kit records for every route."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "baton_http_requests",
            "HTTP requests served, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "baton_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by route template.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # (method, route object id, status) -> the two label children: one dict lookup
        # per request once a combination was seen.
        self._children: dict[tuple[str, int, int], tuple[Any, Any]] = {}
        self._templates: dict[int, str] = {}
        self._routes: Callable[[], Iterable[BaseRoute]] = list
        self._refreshers: list[Callable[[], Awaitable[None]]] = []
        self._counters: dict[str, Counter] = {}

    def templates_from(self, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        """Where route templates come from: the app's routes, read once they are final."""
        self._routes = routes
        self._templates.clear()

    def observe(self, method: str, route: BaseRoute | None, status: int, seconds: float) -> None:
        """Count one request (the request context middleware calls this for each)."""
        if method not in _KNOWN_METHODS:
            method = OTHER_METHOD  # a client may send any word as its method
        key = (method, id(route), status)
        children = self._children.get(key)
        if children is None:
            labels = (method, self._template(route), str(status))
            children = (self._requests.labels(*labels), self._latency.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def _template(self, route: BaseRoute | None) -> str:
        if route is None:
            return UNMATCHED_ROUTE
        template = self._templates.get(id(route))
        if template is None:
            # FastAPI (>= 0.165) hands the route as declared in its router; the prefixes
            # of the routers that include it are only in the app's route contexts.
            for context in iter_route_contexts(list(self._routes())):
                path = context.path_format or context.path
                if path is not None:
                    self._templates.setdefault(id(context.original_route), path)
            declared: str = getattr(route, "path", UNMATCHED_ROUTE)
            template = self._templates.setdefault(id(route), declared)
        return template

    def counter(self, name: str, documentation: str, labels: Iterable[str] = ()) -> Counter:
        """A counter of this app's registry, created on first use (handlers are rebuilt)."""
        counter = self._counters.get(name)
        if counter is None:
            counter = Counter(name, documentation, list(labels), registry=self.registry)
            self._counters[name] = counter
        return counter

    def register(self, collector: Collector) -> None:
        """Add a collector read as it is at scrape time (a pool's gauges, say)."""
        self.registry.register(collector)

    def register_refreshed(self, collector: ScrapeTimeCollector) -> None:
        """Add a collector whose `refresh()` runs before every scrape (a query, say)."""
        self.registry.register(collector)
        self._refreshers.append(collector.refresh)

    async def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper accepts (Prometheus text or OpenMetrics)."""
        if self._refreshers:
            await asyncio.gather(*(refresh() for refresh in self._refreshers))
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


metrics_router = APIRouter()


# Open on the service's port (where only the scraper and peers reach); the gateway
# refuses it, and it is no part of the public API document.
@metrics_router.get(METRICS_PATH, include_in_schema=False, dependencies=[public])
async def read_metrics(
    request: Request, accept: Annotated[str | None, Header()] = None
) -> Response:
    metrics: ServiceMetrics = request.app.state.metrics
    body, content_type = await metrics.exposition(accept)
    return Response(body, media_type=content_type)


class DatabasePoolCollector:
    """The connection pool of the app's engine, read at scrape time."""

    def __init__(self, engine: Callable[[], AsyncEngine | None]) -> None:
        self._engine = engine

    def describe(self) -> Iterable[Metric]:
        return ()  # the engine exists only while the app runs

    def collect(self) -> Iterable[Metric]:
        engine = self._engine()
        pool = engine.pool if engine is not None else None
        if not isinstance(pool, QueuePool):
            return
        yield GaugeMetricFamily(
            "baton_db_pool_size", "Connections the pool keeps open.", value=pool.size()
        )
        yield GaugeMetricFamily(
            "baton_db_pool_checked_out",
            "Connections lent to requests or jobs right now.",
            value=pool.checkedout(),
        )
        yield GaugeMetricFamily(
            "baton_db_pool_idle", "Open connections waiting in the pool.", value=pool.checkedin()
        )
        yield GaugeMetricFamily(
            "baton_db_pool_overflow",
            "Connections opened beyond the pool size (none: the pool has no overflow).",
            # SQLAlchemy counts from minus the size until the pool is filled.
            value=max(0, pool.overflow()),
        )


class OutboxBacklog:
    """An outbox's backlog by topic: due, scheduled and dead-lettered messages.

    Queried before each scrape (no tenant is bound: the outbox has no row-level
    security), through the sessions `sessionmaker()` gives while the app runs. On
    failure the gauges are left out rather than shown stale.
    """

    def __init__(
        self,
        sessionmaker: Callable[[], async_sessionmaker[AsyncSession]],
        table: sa.Table,
        *,
        timeout_seconds: float = 2.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._table = table
        self._timeout = timeout_seconds
        self._families: list[Metric] = []
        live = sa.and_(table.c.processed_at.is_(None), table.c.dead_at.is_(None))
        due = sa.and_(live, table.c.available_at <= sa.func.now())
        self._query = (
            sa.select(
                table.c.topic,
                sa.func.count().filter(due).label("due"),
                sa.func.count().filter(live, table.c.available_at > sa.func.now()).label("later"),
                sa.func.count().filter(table.c.dead_at.is_not(None)).label("dead"),
                sa.func.extract(
                    "epoch", sa.func.now() - sa.func.min(table.c.available_at).filter(due)
                ).label("oldest_due_seconds"),
            )
            .where(table.c.processed_at.is_(None))
            .group_by(table.c.topic)
        )

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        return list(self._families)

    async def refresh(self) -> None:
        try:
            async with asyncio.timeout(self._timeout), self._sessionmaker()() as session:
                rows = (await session.execute(self._query)).all()
        except Exception as exc:
            logger.warning("outbox backlog unavailable", extra={"error_type": type(exc).__name__})
            self._families = []
            return
        messages = GaugeMetricFamily(
            "baton_outbox_messages",
            "Outbox messages not yet handled, by topic and state (due, scheduled, dead).",
            labels=["topic", "state"],
        )
        oldest = GaugeMetricFamily(
            "baton_outbox_oldest_due_age_seconds",
            "How long the oldest due message of a topic has been waiting.",
            labels=["topic"],
        )
        for row in rows:
            messages.add_metric([row.topic, "due"], row.due)
            messages.add_metric([row.topic, "scheduled"], row.later)
            messages.add_metric([row.topic, "dead"], row.dead)
            oldest.add_metric([row.topic], float(row.oldest_due_seconds or 0))
        self._families = [messages, oldest]


def install_metrics(app: FastAPI, engine: Callable[[], AsyncEngine | None]) -> ServiceMetrics:
    """Give `app` its registry, the pool collector and the `/metrics` route."""
    metrics = ServiceMetrics()
    metrics.templates_from(lambda: app.routes)
    metrics.register(DatabasePoolCollector(engine))
    app.state.metrics = metrics
    app.include_router(metrics_router)
    return metrics
