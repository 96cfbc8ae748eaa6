"""OpenTelemetry traces, when an OTLP endpoint is configured; nothing at all otherwise.

Each app gets a tracer provider of its own, named after its service (tests run
several services in one process). FastAPI's native telemetry makes the server
span of each request, continuing the caller's W3C `traceparent`; `ServiceClient`
makes client spans and sends `traceparent` on; the outbox keeps a message's
trace context so that work done later (a hand-off) joins the request that
asked for it. Spans hold methods, route templates, paths of ids, statuses and
exception types: never a query string, a body or an exception's message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import Scope

from baton.settings import ServiceSettings

TRACEPARENT = "traceparent"
# Requests that would only add noise: probes and the scraper.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Attributes that may carry what a client typed (search terms): never exported.
_UNEXPORTED_ATTRIBUTES = frozenset({"url.query", "url.full", "http.url", "http.target"})
# Only W3C trace context crosses to peers: a caller's baggage is not forwarded.
_W3C = TraceContextTextMapPropagator()
_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "auto_configure": False,
}

_test_exporter: SpanExporter | None = None


def traces_endpoint(settings: ServiceSettings) -> str | None:
    """Where spans go: the service's setting, else the standard OTel variables, else None."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if settings.otel_exporter_otlp_endpoint is not None:
        return f"{str(settings.otel_exporter_otlp_endpoint).rstrip('/')}/v1/traces"
    full = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if full:
        return full
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


class _WithoutQueries(SpanExporter):
    """Drops attributes that may hold a query string before spans leave the process."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([_without_queries(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.exporter.force_flush(timeout_millis)


def _without_queries(span: ReadableSpan) -> ReadableSpan:
    attributes = span.attributes or {}
    if _UNEXPORTED_ATTRIBUTES.isdisjoint(attributes):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={k: v for k, v in attributes.items() if k not in _UNEXPORTED_ATTRIBUTES},
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


@dataclass(frozen=True)
class Tracing:
    """The tracer provider of one app, and whether the app shuts it down with itself."""

    provider: TracerProvider
    owned: bool

    def tracer(self, name: str) -> Tracer:
        return self.provider.get_tracer(name)

    def shutdown(self) -> None:
        if self.owned:
            self.provider.shutdown()  # exports what is still buffered


def start_tracing(service: str, settings: ServiceSettings) -> Tracing | None:
    """A provider exporting `service`'s spans, or None when tracing is not configured."""
    resource = Resource.create({SERVICE_NAME: service})
    if _test_exporter is not None:
        provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(_WithoutQueries(_test_exporter)))
        return Tracing(provider, owned=False)
    endpoint = traces_endpoint(settings)
    if endpoint is None:
        return None
    # The sampler follows OTEL_TRACES_SAMPLER (default: the caller's decision, else all).
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    exporter = OTLPSpanExporter(endpoint=endpoint)
    provider.add_span_processor(BatchSpanProcessor(_WithoutQueries(exporter)))
    return Tracing(provider, owned=True)


@contextmanager
def spans_exported_to(exporter: SpanExporter) -> Iterator[None]:
    """For tests: apps created inside the block trace into `exporter`, synchronously."""
    global _test_exporter
    previous, _test_exporter = _test_exporter, exporter
    try:
        yield
    finally:
        _test_exporter = previous


def _untraced(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    return path in UNTRACED_PATHS


def fastapi_telemetry(tracing: Tracing | None) -> TelemetryConfig:
    """FastAPI's native telemetry: server spans only, with this app's provider, or off.

    Metrics are Prometheus's (baton.metrics); FastAPI's log events would carry
    exception messages, so they stay off.
    """
    if tracing is None:
        return _OFF
    return {
        **_OFF,
        "tracing": True,
        "tracer_provider": tracing.provider,
        "operation_spans": False,
        "exclude": _untraced,
    }


def inject_trace_context(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` (and `tracestate`), if a span is current."""
    _W3C.inject(headers)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get(TRACEPARENT)


@contextmanager
def client_span(
    tracer: Tracer | None, method: str, host: str, path: str
) -> Iterator[trace.Span | None]:
    """A client span around a call to a peer; nothing when this app does not trace."""
    if tracer is None:
        yield None
        return
    attributes = {"http.request.method": method, "server.address": host, "url.path": path}
    with tracer.start_as_current_span(
        method,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            _failed(span, exc)
            raise


@contextmanager
def continued_span(
    tracer: Tracer | None,
    name: str,
    traceparent: str | None,
    attributes: Mapping[str, Any],
) -> Iterator[None]:
    """Work done later for an earlier request (an outbox message), in that request's trace.

    Without a tracer the earlier context is still made current, so calls to peers
    carry its `traceparent` on.
    """
    parent = _W3C.extract({TRACEPARENT: traceparent}) if traceparent else None
    if tracer is None:
        if parent is None:
            yield
            return
        token = otel_context.attach(parent)
        try:
            yield
        finally:
            otel_context.detach(token)
        return
    with tracer.start_as_current_span(
        name,
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes=dict(attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except Exception as exc:
            _failed(span, exc)
            raise


def _failed(span: trace.Span, exc: BaseException) -> None:
    # The type only: an exception's message may quote data.
    span.set_attribute("error.type", type(exc).__qualname__)
    span.set_status(StatusCode.ERROR)
