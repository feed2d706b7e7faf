"""The Collector's doors, end to end: bearer-token auth and TLS on both OTLP receivers, and the span-metrics
cardinality cap, on a stack of this module's own started the way a user switches them on
(LLM_OTEL_OTLP_TOKEN + LLM_OTEL_OTLP_TLS_CERT/_KEY; the stack runner turns the switches on).

Refusals are asserted on the wire (gRPC status, HTTP status) with real OTLP payloads from the SDK's encoder;
acceptance is asserted where it matters: the trace is in Jaeger. The SDK side is an app configured only by
the standard OTEL_EXPORTER_OTLP_HEADERS / _CERTIFICATE variables. Run: pytest -m stack tests/e2e
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

if TYPE_CHECKING:
    from conftest import Pipeline

pytestmark = pytest.mark.stack

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "tests" / "e2e" / "apps" / "steady_app.py"
TOKEN = secrets.token_urlsafe(24)
CARDINALITY_LIMIT = 20


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "llm-otel test collector")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "collector.crt", directory / "collector.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def doors(pipeline_factory, certificate) -> Pipeline:
    cert_file, key_file = certificate
    return pipeline_factory({
        "LLM_OTEL_OTLP_TOKEN": TOKEN,
        "LLM_OTEL_OTLP_TLS_CERT": str(cert_file),
        "LLM_OTEL_OTLP_TLS_KEY": str(key_file),
        "LLM_OTEL_SPANMETRICS_CARDINALITY_LIMIT": str(CARDINALITY_LIMIT),
    })


def otlp_request(service: str, span_names: list[str] | None = None) -> tuple[bytes, list[str]]:
    """An OTLP ExportTraceServiceRequest (SDK encoder) of one trace per span name, and the trace ids."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("doors")
    for name in span_names or ["door check"]:
        with tracer.start_as_current_span(name, attributes={"llm_otel.test.case": service}):
            pass
    spans = exporter.get_finished_spans()
    return encode_spans(spans).SerializeToString(), [format(s.context.trace_id, "032x") for s in spans]


def grpc_target(pipeline: Pipeline) -> str:
    return f"127.0.0.1:{pipeline.endpoints.ports['collector_otlp_grpc']}"


def grpc_export(pipeline: Pipeline, payload: bytes, cert: Path | None, token: str | None) -> grpc.StatusCode:
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes()) if cert else None
    channel = grpc.secure_channel(grpc_target(pipeline), credentials) if credentials else grpc.insecure_channel(grpc_target(pipeline))
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    with channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        try:
            stub.Export(ExportTraceServiceRequest.FromString(payload), metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def http_export(pipeline: Pipeline, payload: bytes, cert: Path | None, token: str | None) -> int:
    port = pipeline.endpoints.ports["collector_otlp_http"]
    url = f"{'https' if cert else 'http'}://127.0.0.1:{port}/v1/traces"
    headers = {"Content-Type": "application/x-protobuf"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    context = ssl.create_default_context(cafile=str(cert)) if cert else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=payload, headers=headers), timeout=10, context=context) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


EXPORTS = {"grpc": grpc_export, "http": http_export}
REFUSED = {"grpc": grpc.StatusCode.UNAUTHENTICATED, "http": 401}
ACCEPTED = {"grpc": grpc.StatusCode.OK, "http": 200}


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_anonymous_and_wrong_token_refused_the_token_accepted_and_stored(doors: Pipeline, certificate, protocol: str):
    cert, _ = certificate
    export = EXPORTS[protocol]
    anonymous, anonymous_ids = otlp_request(f"doors-anonymous-{protocol}")
    wrong, wrong_ids = otlp_request(f"doors-wrong-token-{protocol}")
    good, good_ids = otlp_request(f"doors-token-{protocol}")

    assert export(doors, anonymous, cert, None) == REFUSED[protocol]
    assert export(doors, wrong, cert, "not-" + TOKEN) == REFUSED[protocol]
    assert export(doors, good, cert, TOKEN) == ACCEPTED[protocol]

    doors.wait_trace(good_ids[0], 1)
    # Sent before the accepted one through the same pipeline: had they got in, they would be there by now.
    assert doors.trace_spans(anonymous_ids[0]) == [] and doors.trace_spans(wrong_ids[0]) == []


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_plaintext_is_refused_when_tls_is_on(doors: Pipeline, protocol: str):
    payload, _ = otlp_request(f"doors-plaintext-{protocol}")
    if protocol == "grpc":
        assert grpc_export(doors, payload, None, TOKEN) == grpc.StatusCode.UNAVAILABLE
    else:  # Go's TLS server answers a plaintext request with 400 "Client sent an HTTP request to an HTTPS server"
        assert http_export(doors, payload, None, TOKEN) == 400


def run_app(doors: Pipeline, cert: Path, protocol: str, headers: str | None) -> tuple[dict[str, object], str]:
    """The instrumented app, configured only by OTEL_* variables; returns what it printed and its log."""
    port = doors.endpoints.ports["collector_otlp_grpc" if protocol == "grpc" else "collector_otlp_http"]
    # requests (the http/protobuf exporter's client) lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, when set,
    # override the exporter's OTEL_EXPORTER_OTLP_CERTIFICATE (psf/requests#3829): an app must not set them.
    dropped = ("OTEL_", "LLM_OTEL_OTLP_", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update({
        "PYTHONPATH": str(REPO),
        "OTEL_SERVICE_NAME": f"doors-sdk-{protocol}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc" if protocol == "grpc" else "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"https://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": str(cert),
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "LLM_OTEL_SYSTEM_METRICS": "off",
    })
    if headers is not None:
        env["OTEL_EXPORTER_OTLP_HEADERS"] = headers
    proc = subprocess.run([sys.executable, str(APP), "once"], env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.timeout(600)  # two app start-ups, slow on a loaded machine
@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_the_sdk_sends_the_token_from_otel_exporter_otlp_headers(doors: Pipeline, certificate, protocol: str):
    cert, _ = certificate
    refused, log = run_app(doors, cert, protocol, headers=None)
    assert re.search(r"UNAUTHENTICATED|401", log), log[-2000:]
    accepted, log = run_app(doors, cert, protocol, headers=f"authorization=Bearer%20{TOKEN}")
    spans = doors.wait_trace(str(accepted["trace_id"]), 2)
    assert {s["service"] for s in spans} == {f"doors-sdk-{protocol}"}
    assert doors.trace_spans(str(refused["trace_id"])) == []


def test_span_metrics_series_stop_at_the_cardinality_limit(doors: Pipeline, certificate):
    """300 distinct span names: at most the limit of series, the rest counted in one overflow series."""
    cert, _ = certificate
    service = "doors-cardinality"
    names = [f"chat model-{i}" for i in range(300)]
    payload, _ = otlp_request(service, names)
    assert grpc_export(doors, payload, cert, TOKEN) == grpc.StatusCode.OK

    def series() -> list[str] | None:
        with urllib.request.urlopen(f"{doors.endpoints.collector_prometheus}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        # job = the resource's service.name (the overflow series has no service_name label of its own)
        lines = [line for line in text.splitlines()
                 if line.startswith("traces_span_metrics_calls_total{") and f'job="{service}"' in line]
        total = sum(float(line.rsplit(" ", 1)[1]) for line in lines)
        return lines if total == len(names) else None

    lines = doors.poll(series, timeout=30, what=f"span-metric calls of {service} adding up to {len(names)}")
    overflow = [line for line in lines if 'otel_metric_overflow="true"' in line]
    assert len(lines) == CARDINALITY_LIMIT + 1, len(lines)  # the first LIMIT combinations, then the overflow one
    assert len(overflow) == 1
    assert float(overflow[0].rsplit(" ", 1)[1]) == len(names) - CARDINALITY_LIMIT


def test_the_runner_switched_the_doors_on_without_recording_the_token(doors: Pipeline):
    recorded = doors.stack.endpoints_file.read_text()
    assert TOKEN not in recorded
    env = json.loads(recorded)["env"]
    assert env["LLM_OTEL_OTLP_AUTH"] == "true" and env["LLM_OTEL_OTLP_TLS"] == "true"
