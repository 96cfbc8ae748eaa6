"""The real Envoy and services: metrics on each service's own port only, never through the
gateway; with a collector configured, the gateway starts or continues W3C traces and
passes them on to the service (and reports its own span to the collector)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from baton.stack.gateway import Upstream
from baton.stack.personas import PersonaTokens
from baton.stack.postgres import free_port
from baton.stack.processes import wait_until_answering
from baton.stack.runner import Stack
from baton.stack.services import SERVICES, ServiceSpec

pytestmark = pytest.mark.e2e

CLIENT_TRACE_ID = "5b8efff798038103d269b633813fc60c"
CLIENT_SPAN_ID = "eee19b7ec3c1b174"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
def test_each_service_serves_metrics_on_its_own_port(stack: Stack, spec: ServiceSpec) -> None:
    port = stack.service_ports[spec.route]
    httpx.get(f"http://127.0.0.1:{port}/healthz").raise_for_status()
    response = httpx.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"baton_http_requests", "baton_http_request_duration_seconds"} <= names
    assert "baton_db_pool_size" in names


# Spellings a client might try to slip past a path match; all normalise to /metrics.
SNEAKY_SPELLINGS = [
    "metrics",
    "metrics/",
    "metrics?format=prometheus",
    "./metrics",
    "v1/../metrics",
    "%6Detrics",
    "%6detrics",
    "METRICS",
]


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
def test_no_service_metrics_pass_the_gateway(
    stack: Stack, tokens: PersonaTokens, spec: ServiceSpec
) -> None:
    headers = _bearer(tokens("caseworker" if spec.route != "grants" else "grant-manager"))
    with httpx.Client(base_url=stack.gateway_url, timeout=10.0) as gateway:
        direct = gateway.get(f"/{spec.route}/metrics", headers=headers)
        assert direct.status_code == 404
        assert direct.json()["code"] == "not-found"
        # Envoy answered itself: no service was asked.
        assert "x-envoy-upstream-service-time" not in direct.headers
        for spelling in SNEAKY_SPELLINGS:
            response = gateway.get(f"/{spec.route}/{spelling}", headers=headers)
            assert response.status_code != 200, spelling
            assert "baton_http_requests" not in response.text, spelling
        anonymous = gateway.get(f"/{spec.route}/metrics")
        assert anonymous.status_code == 401


@dataclass
class Recorder:
    """An HTTP server keeping what it receives: the traced upstream, or the OTLP collector."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def start(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() != "chunked":
                    length = int(self.headers.get("content-length") or 0)
                    return self.rfile.read(length) if length else b""
                body = b""
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    body += self.rfile.read(size)
                    self.rfile.readline()  # the CRLF after each chunk
                self.rfile.readline()  # the CRLF after the last, empty chunk
                return body

            def _answer(self) -> None:
                body = self._body()
                headers = {name.lower(): value for name, value in self.headers.items()}
                recorder.requests.append((self.path, headers, body))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - quiet
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class TracedGateway:
    url: str
    upstream: Recorder
    collector: Recorder

    def forwarded_traceparent(self, path: str) -> str:
        [headers] = [headers for seen, headers, _ in self.upstream.requests if seen == path]
        return headers["traceparent"]

    def exported_spans(self, trace_id: str, timeout: float = 20.0) -> list[dict[str, str]]:
        """The gateway's spans of `trace_id` that reached the collector (Envoy batches them)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = []
            for _, _, body in list(self.collector.requests):
                export = ExportTraceServiceRequest.FromString(body)
                for resource_spans in export.resource_spans:
                    service = {
                        attribute.key: attribute.value.string_value
                        for attribute in resource_spans.resource.attributes
                    }.get("service.name", "")
                    spans += [
                        {
                            "service": service,
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                        }
                        for scope_spans in resource_spans.scope_spans
                        for span in scope_spans.spans
                        if span.trace_id.hex() == trace_id
                    ]
            if spans or time.monotonic() > deadline:
                return spans
            time.sleep(0.5)


@pytest.fixture(scope="module")
def traced_gateway(stack: Stack) -> Iterator[TracedGateway]:
    """The real gateway configuration with a collector, and `/cases/` to a recorder."""
    upstream, collector = Recorder(), Recorder()
    upstream.start()
    collector.start()
    port, admin_port = free_port(), free_port()
    layout = stack.gateway_layout(
        listen_port=port,
        admin_port=admin_port,
        name="traced-gateway",
        upstreams={"cases": Upstream("127.0.0.1", upstream.port)},
        otel_collector=Upstream("127.0.0.1", collector.port),
    )
    gateway = stack.launch_gateway(layout, name="traced-gateway")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/identity/healthz", what="traced gateway", managed=gateway)
        yield TracedGateway(url, upstream, collector)
    finally:
        gateway.stop()
        upstream.stop()
        collector.stop()


def _parts(traceparent: str) -> tuple[str, str, str]:
    version, trace_id, parent_id, flags = traceparent.split("-")
    assert version == "00"
    return trace_id, parent_id, flags


def test_the_gateway_continues_the_callers_trace_and_reports_its_span(
    traced_gateway: TracedGateway, tokens: PersonaTokens
) -> None:
    incoming = f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"
    response = httpx.get(
        f"{traced_gateway.url}/cases/v1/traced-continued",
        headers={**_bearer(tokens("caseworker")), "traceparent": incoming},
    )
    assert response.status_code == 200
    trace_id, parent_id, flags = _parts(
        traced_gateway.forwarded_traceparent("/v1/traced-continued")
    )
    assert trace_id == CLIENT_TRACE_ID
    # The service's parent is the gateway's own span, which the collector received.
    assert parent_id != CLIENT_SPAN_ID
    assert flags == "01"
    spans = traced_gateway.exported_spans(CLIENT_TRACE_ID)
    gateway_span = [span for span in spans if span["span_id"] == parent_id]
    assert gateway_span, json.dumps(spans)
    assert gateway_span[0]["service"] == "baton-gateway"


def test_the_gateway_starts_a_trace_when_the_caller_sends_none(
    traced_gateway: TracedGateway, tokens: PersonaTokens
) -> None:
    response = httpx.get(
        f"{traced_gateway.url}/cases/v1/traced-started", headers=_bearer(tokens("caseworker"))
    )
    assert response.status_code == 200
    trace_id, _, flags = _parts(traced_gateway.forwarded_traceparent("/v1/traced-started"))
    assert int(trace_id, 16) != 0
    assert flags == "01"
