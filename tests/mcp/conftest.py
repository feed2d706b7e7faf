"""A local OTLP/HTTP receiver (the processes under test export to it like to a Collector) and
runners for the MCP client/server apps, each in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

APPS = Path(__file__).parent / "apps"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _value(v: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    return v


def _attrs(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["key"]: _value(a["value"]) for a in items}


class Receiver:
    """Keeps every span and histogram point exported to it, flattened."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.points: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, path: str, body: bytes) -> None:
        if path.endswith("/v1/traces"):
            request = MessageToDict(ExportTraceServiceRequest.FromString(body))
            for rs in request.get("resourceSpans", []):
                service = _attrs(rs["resource"]["attributes"]).get("service.name")
                for ss in rs.get("scopeSpans", []):
                    for s in ss.get("spans", []):
                        with self._lock:
                            self.spans.append({
                                "service": service, "scope": ss["scope"].get("name"), "name": s["name"],
                                "kind": s.get("kind"), "trace_id": s["traceId"], "span_id": s["spanId"],
                                "parent_id": s.get("parentSpanId"), "attributes": _attrs(s.get("attributes", [])),
                                "status": s.get("status", {}),
                            })
        elif path.endswith("/v1/metrics"):
            request = MessageToDict(ExportMetricsServiceRequest.FromString(body))
            for rm in request.get("resourceMetrics", []):
                service = _attrs(rm["resource"]["attributes"]).get("service.name")
                for sm in rm.get("scopeMetrics", []):
                    for m in sm.get("metrics", []):
                        for p in m.get("histogram", {}).get("dataPoints", []):
                            with self._lock:
                                self.points.append({
                                    "service": service, "name": m["name"], "unit": m.get("unit"),
                                    "count": int(p.get("count", 0)), "bounds": p.get("explicitBounds", []),
                                    "attributes": _attrs(p.get("attributes", [])),
                                })

    def span(self, name: str, service: str) -> dict[str, Any]:
        found = [s for s in self.spans if s["name"] == name and s["service"] == service]
        assert len(found) == 1, (name, service, [(s["name"], s["service"]) for s in self.spans])
        return found[0]

    def metric(self, name: str, service: str, **where: Any) -> list[dict[str, Any]]:
        return [p for p in self.points if p["name"] == name and p["service"] == service
                and all(p["attributes"].get(k) == v for k, v in where.items())]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    sink = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            sink.add(self.path, body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sink, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def otel_env(endpoint: str, *, configure: bool, content: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "none",
        "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "MCP_TEST_CONFIGURE": "1" if configure else "0",
    })
    if content:
        env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    return env


def python_cmd(python: str, script: Path, *args: str, via_instrument: bool) -> list[str]:
    cmd = [python, str(script), *args]
    if via_instrument:
        cmd = [str(Path(python).parent / "opentelemetry-instrument"), *cmd]
    return cmd


def run_client(python: str, env: dict[str, str], *args: str, via_instrument: bool) -> str:
    proc = subprocess.run(python_cmd(python, APPS / "mcp_client.py", *args, via_instrument=via_instrument),
                          env={**env, "OTEL_SERVICE_NAME": "mcp-test-client"}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


PYTHON = sys.executable


MCP1_SPEC = "mcp>=1.9,<2"


@pytest.fixture(scope="session")
def mcp1_site() -> str:
    """mcp 1.x and its dependencies in a cached directory (built once, ~30 s; then reused) that
    shadows the venv's mcp 2.x on PYTHONPATH, so the same apps run against the other major."""
    from tests.support import pip_target

    return pip_target(MCP1_SPEC)
