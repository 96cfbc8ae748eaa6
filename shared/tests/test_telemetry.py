"""Traces of an app made with the kit: off unless configured; when on, a server span per
request in the caller's trace, without query strings, and the trace id in the logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from baton import telemetry
from baton.app import create_service_app
from baton.logs import JsonFormatter
from baton.settings import ServiceSettings
from baton.stack.databases import ServiceDatabase
from baton.testing import app_client
from kit_probe import KIT_INFO, kit_settings
from observability_probe import KNOWN_THING, SEARCH_TERM, THING_ROUTE, things_router

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"
OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


@pytest.fixture
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def traced(
    service_databases: dict[str, ServiceDatabase], exporter: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    settings = kit_settings(service_databases["cases"].runtime_url)
    with telemetry.spans_exported_to(exporter):
        app = create_service_app(KIT_INFO, settings, [things_router])
    async with app_client(app) as client:
        yield client


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("kit-probe"))
    access = logging.getLogger("baton.access")
    previous = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)


@pytest.mark.usefixtures("no_otel_environment")
def test_without_an_endpoint_an_app_has_no_tracer_provider(
    service_databases: dict[str, ServiceDatabase],
) -> None:
    app = create_service_app(KIT_INFO, kit_settings(service_databases["cases"].runtime_url))
    assert app.state.tracing is None
    assert isinstance(app, FastAPI)


@pytest.mark.usefixtures("no_otel_environment")
@pytest.mark.parametrize(
    ("setting", "environment", "expected"),
    [
        (None, {}, None),
        ("http://collector:4318", {}, "http://collector:4318/v1/traces"),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318/"}, "http://env:4318/v1/traces"),
        (
            None,
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://env:4318/spans"},
            "http://env:4318/spans",
        ),
        (
            "http://collector:4318",
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"},
            "http://collector:4318/v1/traces",
        ),
        ("http://collector:4318", {"OTEL_SDK_DISABLED": "true"}, None),
    ],
)
def test_the_endpoint_comes_from_the_setting_then_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch,
    setting: str | None,
    environment: dict[str, str],
    expected: str | None,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = ServiceSettings.model_validate(
        {
            "database_url": "postgresql+asyncpg://x@localhost/x",
            "otel_exporter_otlp_endpoint": setting,
        }
    )
    assert telemetry.traces_endpoint(settings) == expected


async def test_a_request_is_a_server_span_in_the_callers_trace(
    traced: httpx.AsyncClient, exporter: InMemorySpanExporter, access_lines: io.StringIO
) -> None:
    response = await traced.get(
        f"/v1/things/{KNOWN_THING}",
        params={"q": SEARCH_TERM},
        headers={"traceparent": TRACEPARENT},
    )
    assert response.status_code == 200

    [span] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert span.context is not None
    assert span.parent is not None
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == CALLER_SPAN_ID
    assert span.name == f"GET {THING_ROUTE}"
    attributes = dict(span.attributes or {})
    assert attributes["http.route"] == THING_ROUTE
    assert attributes["http.response.status_code"] == 200
    assert span.resource.attributes["service.name"] == KIT_INFO.name
    # What a client typed in a query never leaves the process.
    assert "url.query" not in attributes
    assert SEARCH_TERM not in json.dumps(attributes)

    [line] = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    assert line["trace_id"] == TRACE_ID
    assert line["span_id"] == format(span.context.span_id, "016x")


async def test_probes_and_the_scraper_are_not_traced(
    traced: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await traced.get(path, headers={"traceparent": TRACEPARENT})).status_code == 200
    assert exporter.get_finished_spans() == ()


@pytest.mark.usefixtures("no_otel_environment")
async def test_without_tracing_a_log_line_has_no_trace_id(
    service_databases: dict[str, ServiceDatabase],
    access_lines: io.StringIO,
) -> None:
    app = create_service_app(
        KIT_INFO, kit_settings(service_databases["cases"].runtime_url), [things_router]
    )
    async with app_client(app) as client:
        await client.get(f"/v1/things/{KNOWN_THING}", headers={"traceparent": TRACEPARENT})
    [line] = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    assert "trace_id" not in line
    assert line["route"] is not None
