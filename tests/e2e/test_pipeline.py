"""End to end: an app's GenAI telemetry through the real Collector into Jaeger, Prometheus and Alertmanager.

Scenario per test: an app (its own TracerProvider/MeterProvider, never the global ones) runs a RAG
workflow - `invoke_workflow rag-answer` > `retrieval docs`, `chat <model>`, `execute_tool calc` - and
records the GenAI histograms; the test then reads what the backends stored. Every wait is a poll with
a deadline. Run: pytest -m stack tests/e2e
"""

from __future__ import annotations

import dataclasses
import json
import socket
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

if TYPE_CHECKING:  # fixtures come from tests/e2e/conftest.py
    from conftest import Pipeline, Webhook

pytestmark = pytest.mark.stack

# Advisory buckets of GENAI-SEMCONV.md.
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
INPUT_TOKENS, OUTPUT_TOKENS = 250, 40


@dataclasses.dataclass
class App:
    """One application process: its own providers exporting OTLP to the stack."""

    service: str
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def flush(self) -> None:
        assert self.tracer_provider.force_flush(10_000)
        assert self.meter_provider.force_flush(10_000)

    def shutdown(self) -> None:
        self.flush()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def make_app(pipeline: Pipeline, protocol: str, service: str) -> App:
    resource = Resource.create({"service.name": service, "service.instance.id": uuid.uuid4().hex[:12]})
    if protocol == "grpc":
        spans = GrpcSpanExporter(endpoint=pipeline.endpoints.otlp_grpc, insecure=True)
        metrics = GrpcMetricExporter(endpoint=pipeline.endpoints.otlp_grpc, insecure=True)
    else:
        spans = HttpSpanExporter(endpoint=f"{pipeline.endpoints.otlp_http}/v1/traces")
        metrics = HttpMetricExporter(endpoint=f"{pipeline.endpoints.otlp_http}/v1/metrics")
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans, schedule_delay_millis=200))
    # Exports only on flush: each flush is one cumulative data point the test controls.
    reader = PeriodicExportingMetricReader(metrics, export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return App(service, tracer_provider, meter_provider)


def emit_rag_workflow(app: App, *, model: str, error_type: str | None = None, extra_chat_attributes: dict[str, Any] | None = None) -> str:
    """The instrumented app: one RAG workflow as GENAI-SEMCONV.md describes it. Returns the trace id (hex).

    Kept in one function so the emitting side can move to the llm_otel API
    (llm_otel.workflow / retrieval / llm_call / tool) without touching the assertions.
    """
    tracer = app.tracer_provider.get_tracer("e2e.app")
    meter = app.meter_provider.get_meter("e2e.app")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s",
                                      explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}",
                                    explicit_bucket_boundaries_advisory=TOKEN_BUCKETS)
    common = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "server.address": "api.openai.com",
        "server.port": 443,
    }
    with tracer.start_as_current_span("invoke_workflow rag-answer", kind=SpanKind.INTERNAL, attributes={
        "gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "rag-answer"}) as root:
        with tracer.start_as_current_span("retrieval docs", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "docs", "gen_ai.retrieval.top_k": 3}):
            pass
        with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=common) as chat:
            chat.set_attributes(extra_chat_attributes or {})
            if error_type:
                chat.set_attribute("error.type", error_type)
                chat.set_status(Status(StatusCode.ERROR, error_type))
                duration.record(0.3, {**common, "error.type": error_type})
            else:
                chat.set_attributes({"gen_ai.response.model": model, "gen_ai.usage.input_tokens": INPUT_TOKENS,
                                     "gen_ai.usage.output_tokens": OUTPUT_TOKENS, "llm_otel.cost.usd": 0.0001})
                metric_attrs = {**common, "gen_ai.response.model": model}
                duration.record(0.3, metric_attrs)
                tokens.record(INPUT_TOKENS, {**metric_attrs, "gen_ai.token.type": "input"})
                tokens.record(OUTPUT_TOKENS, {**metric_attrs, "gen_ai.token.type": "output"})
        with tracer.start_as_current_span("execute_tool calc", kind=SpanKind.INTERNAL, attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "calc"}):
            pass
    return format(root.get_span_context().trace_id, "032x")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", params=["grpc", "http"])
def sent(request: pytest.FixtureRequest, pipeline: Pipeline) -> dict[str, Any]:
    """Three successful workflows from one app over one OTLP transport."""
    protocol = request.param
    app = make_app(pipeline, protocol, unique(f"e2e-{protocol}"))
    model = unique("gpt-4o-mini-e2e")
    trace_ids = [emit_rag_workflow(app, model=model) for _ in range(3)]
    app.shutdown()
    return {"protocol": protocol, "service": app.service, "model": model, "trace_ids": trace_ids}


def test_trace_tree_and_attributes_in_jaeger(pipeline: Pipeline, sent: dict[str, Any]):
    spans = pipeline.wait_trace(sent["trace_ids"][0], 4)

    assert len(spans) == 4
    by_name = {s["name"]: s for s in spans}
    model = sent["model"]
    assert set(by_name) == {"invoke_workflow rag-answer", "retrieval docs", f"chat {model}", "execute_tool calc"}
    root = by_name["invoke_workflow rag-answer"]
    assert not root.get("parentSpanId")
    for name in ("retrieval docs", f"chat {model}", "execute_tool calc"):
        assert by_name[name]["parentSpanId"] == root["spanId"], name
    assert {s["service"] for s in spans} == {sent["service"]}
    # OTLP JSON span kinds: 1 INTERNAL, 3 CLIENT.
    assert [by_name[n]["kind"] for n in ("invoke_workflow rag-answer", "retrieval docs", f"chat {model}", "execute_tool calc")] == [1, 3, 3, 1]

    assert root["attrs"]["gen_ai.operation.name"] == "invoke_workflow"
    assert root["attrs"]["gen_ai.workflow.name"] == "rag-answer"
    retrieval = by_name["retrieval docs"]["attrs"]
    assert retrieval["gen_ai.operation.name"] == "retrieval" and retrieval["gen_ai.data_source.id"] == "docs"
    assert int(retrieval["gen_ai.retrieval.top_k"]) == 3
    chat = by_name[f"chat {model}"]["attrs"]
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.provider.name"] == "openai"
    assert chat["gen_ai.request.model"] == model
    assert chat["server.address"] == "api.openai.com" and int(chat["server.port"]) == 443
    assert int(chat["gen_ai.usage.input_tokens"]) == INPUT_TOKENS
    assert int(chat["gen_ai.usage.output_tokens"]) == OUTPUT_TOKENS
    tool = by_name["execute_tool calc"]["attrs"]
    assert tool["gen_ai.operation.name"] == "execute_tool" and tool["gen_ai.tool.name"] == "calc"


def _le_values(series: list[dict[str, Any]]) -> set[float]:
    return {float(s["metric"]["le"]) for s in series}


def test_genai_histograms_in_prometheus(pipeline: Pipeline, sent: dict[str, Any]):
    job, model = sent["service"], sent["model"]
    # Wait for the last flushed point (3 calls) rather than for the first scrape.
    tokens = pipeline.wait_query(f'gen_ai_client_token_usage_bucket{{job="{job}"}}',
                                 lambda r: any(s["metric"]["le"] == "+Inf" and float(s["value"][1]) == 3 for s in r))
    assert {s["metric"]["gen_ai_token_type"] for s in tokens} == {"input", "output"}
    for s in tokens:
        labels = s["metric"]
        assert labels["gen_ai_operation_name"] == "chat"
        assert labels["gen_ai_provider_name"] == "openai"
        assert labels["gen_ai_request_model"] == model
        assert labels["gen_ai_response_model"] == model
        assert labels["server_address"] == "api.openai.com"
        assert labels["server_port"] == "443"
    for token_type in ("input", "output"):
        assert _le_values([s for s in tokens if s["metric"]["gen_ai_token_type"] == token_type]) == {*map(float, TOKEN_BUCKETS), float("inf")}
    sums = {s["metric"]["gen_ai_token_type"]: float(s["value"][1]) for s in pipeline.query(f'gen_ai_client_token_usage_sum{{job="{job}"}}')}
    assert sums == {"input": 3 * INPUT_TOKENS, "output": 3 * OUTPUT_TOKENS}
    # 250 input tokens land in the (64, 256] bucket (OpenMetrics scrapes store le="256.0").
    le256 = pipeline.query(f'gen_ai_client_token_usage_bucket{{job="{job}",gen_ai_token_type="input",le=~"256(.0)?"}}')
    le64 = pipeline.query(f'gen_ai_client_token_usage_bucket{{job="{job}",gen_ai_token_type="input",le=~"64(.0)?"}}')
    assert float(le256[0]["value"][1]) == 3 and float(le64[0]["value"][1]) == 0

    duration = pipeline.wait_query(f'gen_ai_client_operation_duration_seconds_bucket{{job="{job}"}}',
                                   lambda r: any(s["metric"]["le"] == "+Inf" and float(s["value"][1]) == 3 for s in r))
    assert _le_values(duration) == {*DURATION_BUCKETS, float("inf")}
    for s in duration:
        assert s["metric"]["gen_ai_request_model"] == model
        assert "error_type" not in s["metric"]
        assert "gen_ai_token_type" not in s["metric"]
    count = pipeline.query(f'gen_ai_client_operation_duration_seconds_count{{job="{job}"}}')
    assert [float(s["value"][1]) for s in count] == [3.0]
    # span_metrics counted every span of the three workflows (before sampling).
    calls = pipeline.wait_query(f'sum(traces_span_metrics_calls_total{{service_name="{job}"}})',
                                lambda r: float(r[0]["value"][1]) == 12)
    assert float(calls[0]["value"][1]) == 12


def _two_phase(pipeline: Pipeline, app: App, model: str, first: int, then_ok: int, then_failed: int, first_failed: int = 0) -> None:
    """Rates need two different samples of a series: export a first batch, wait until Prometheus scraped it,
    then export more. (A series first seen at 10 has no measurable increase, so the error series must
    already exist in the first batch for its burst to show up in rate().)"""
    for _ in range(first):
        emit_rag_workflow(app, model=model)
    for _ in range(first_failed):
        emit_rag_workflow(app, model=model, error_type="RateLimitError")
    app.flush()
    pipeline.wait_query(f'gen_ai_client_operation_duration_seconds_count{{gen_ai_request_model="{model}"}}',
                        lambda r: sum(float(s["value"][1]) for s in r) == first + first_failed)
    for _ in range(then_ok):
        emit_rag_workflow(app, model=model)
    for _ in range(then_failed):
        emit_rag_workflow(app, model=model, error_type="RateLimitError")
    app.flush()


def test_recording_rules_produce_values(pipeline: Pipeline):
    model = unique("e2e-rec")
    app = make_app(pipeline, "grpc", unique("e2e-rules"))
    _two_phase(pipeline, app, model, first=2, then_ok=4, then_failed=0)
    app.shutdown()
    sel = f'{{gen_ai_request_model="{model}"}}'

    calls = pipeline.wait_query(f"gen_ai_request_model:gen_ai_client_operation_calls:rate5m{sel}", lambda r: float(r[0]["value"][1]) > 0)
    assert float(calls[0]["value"][1]) > 0
    for q in ("p50_5m", "p95_5m", "p99_5m"):
        value = float(pipeline.wait_query(f"gen_ai_request_model:gen_ai_client_operation_duration_seconds:{q}{sel}")[0]["value"][1])
        assert 0.16 <= value <= 0.32, (q, value)  # every call took 0.3 s: bucket (0.16, 0.32]
    ratio = pipeline.wait_query(f"gen_ai_request_model:gen_ai_client_operation_error_ratio:rate5m{sel}")
    assert float(ratio[0]["value"][1]) == 0
    by_type = pipeline.wait_query(f"gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage:rate5m{sel}", lambda r: len(r) == 2)
    assert {s["metric"]["gen_ai_token_type"] for s in by_type} == {"input", "output"}
    per_call = pipeline.wait_query(f"gen_ai_request_model:gen_ai_client_token_usage_per_call:rate5m{sel}")
    assert float(per_call[0]["value"][1]) == pytest.approx(INPUT_TOKENS + OUTPUT_TOKENS)


def test_spans_an_app_drops_reach_prometheus(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch):
    # The SDK's own processor metrics, switched on by the standard variable, carry the spans a full
    # BatchSpanProcessor queue threw away to Prometheus under the name the LLMOtelAppDroppingSpans alert reads.
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")  # read when the processor is built
    service = unique("e2e-drops")
    resource = Resource.create({"service.name": service})
    meter_provider = MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(
        GrpcMetricExporter(endpoint=pipeline.endpoints.otlp_grpc, insecure=True), export_interval_millis=3_600_000)])
    with socket.socket() as s:  # spans go to a port nobody listens on: the exporter thread waits, the queue fills
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(
        GrpcSpanExporter(endpoint=f"http://127.0.0.1:{dead}", insecure=True, timeout=1),
        max_queue_size=8, max_export_batch_size=4, meter_provider=meter_provider))
    try:
        tracer = tracer_provider.get_tracer("e2e.app")
        for _ in range(100):
            tracer.start_span("chat m").end()
        assert meter_provider.force_flush(10_000)
        dropped = pipeline.wait_query(
            f'otel_sdk_processor_span_processed_total{{job="{service}",error_type="queue_full"}}',
            lambda r: bool(r) and float(r[0]["value"][1]) >= 50)
        assert dropped[0]["metric"]["otel_component_type"] == "batching_span_processor"
        assert float(dropped[0]["value"][1]) <= 100
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


def test_error_burst_fires_llm_high_error_rate_to_webhook(pipeline: Pipeline, webhook: Webhook):
    model = unique("e2e-failing")
    app = make_app(pipeline, "http", unique("e2e-errors"))
    _two_phase(pipeline, app, model, first=2, first_failed=1, then_ok=2, then_failed=10)
    app.shutdown()

    errors = pipeline.wait_query(f'gen_ai_client_operation_duration_seconds_count{{gen_ai_request_model="{model}",error_type="RateLimitError"}}',
                                 lambda r: float(r[0]["value"][1]) == 11)
    assert float(errors[0]["value"][1]) == 11
    ratio = pipeline.wait_query(f'gen_ai_request_model:gen_ai_client_operation_error_ratio:rate5m{{gen_ai_request_model="{model}"}}',
                                lambda r: float(r[0]["value"][1]) > 0.05)
    assert float(ratio[0]["value"][1]) > 0.05

    def delivered() -> list[dict[str, Any]]:
        return [a for a in webhook.alerts()
                if a["labels"].get("alertname") == "LLMHighErrorRate" and a["labels"].get("gen_ai_request_model") == model]

    alerts = pipeline.poll(delivered, timeout=60, what=f"LLMHighErrorRate for {model} at the webhook")
    assert alerts[0]["status"] == "firing"
    assert alerts[0]["labels"]["severity"] == "warning"


def test_secrets_are_masked_before_jaeger(pipeline: Pipeline):
    api_key = "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
    bearer = "Bearer eyJhbGciOiJIUzI1NiJ9." + uuid.uuid4().hex
    card = "4111 1111 1111 1111"
    app = make_app(pipeline, "grpc", unique("e2e-secrets"))
    trace_id = emit_rag_workflow(app, model="gpt-4o-mini", extra_chat_attributes={
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"my key is {api_key}, card {card}"}]}]),
        "app.request.authorization": bearer,
    })
    app.shutdown()

    spans = pipeline.wait_trace(trace_id, 4)
    dump = json.dumps(spans)
    assert api_key not in dump and api_key[8:] not in dump
    assert bearer not in dump and bearer.split(".", 1)[1] not in dump
    assert card not in dump
    chat = next(s for s in spans if s["name"] == "chat gpt-4o-mini")["attrs"]
    assert "****" in chat["gen_ai.input.messages"] and "my key is" in chat["gen_ai.input.messages"]
    assert chat["app.request.authorization"] == "****"


def _emit_one(app: App, name: str, *, attributes: dict[str, Any], error: bool = False, seconds: float = 0.0) -> str:
    """A single-span trace for the sampling policies; `seconds` back-dates the start (a slow trace, no sleep)."""
    import time as _time

    tracer = app.tracer_provider.get_tracer("e2e.app")
    start = _time.time_ns() - int(seconds * 1e9)
    span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start)
    if error:
        span.set_status(Status(StatusCode.ERROR, "boom"))
    span.end()
    return format(span.get_span_context().trace_id, "032x")


def test_tail_sampling_keeps_errors_slow_and_expensive_traces(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch):
    """With the probabilistic share at 0 %, only the always-keep policies let traces through."""
    monkeypatch.setenv("LLM_OTEL_SAMPLING_PERCENTAGE", "0")
    monkeypatch.setenv("LLM_OTEL_SAMPLING_LATENCY_MS", "1000")
    monkeypatch.setenv("LLM_OTEL_SAMPLING_COST_USD", "0.05")
    monkeypatch.setenv("LLM_OTEL_SAMPLING_INPUT_TOKENS", "8000")
    monkeypatch.setenv("LLM_OTEL_SAMPLING_OUTPUT_TOKENS", "2000")
    pipeline.stack.restart("collector")
    try:
        app = make_app(pipeline, "grpc", unique("e2e-sampling"))
        chat = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o"}
        kept = {
            "error": _emit_one(app, "chat gpt-4o", attributes={**chat, "error.type": "RateLimitError"}, error=True),
            "slow": _emit_one(app, "chat gpt-4o", attributes=chat, seconds=3),
            "cost": _emit_one(app, "chat gpt-4o", attributes={**chat, "llm_otel.cost.usd": 0.12}),
            "input_tokens": _emit_one(app, "chat gpt-4o", attributes={**chat, "gen_ai.usage.input_tokens": 9000}),
            "output_tokens": _emit_one(app, "chat gpt-4o", attributes={**chat, "gen_ai.usage.output_tokens": 2500}),
        }
        dropped = {
            "cheap": _emit_one(app, "chat gpt-4o", attributes={**chat, "llm_otel.cost.usd": 0.001,
                                                                 "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}),
            "plain": _emit_one(app, "chat gpt-4o", attributes=chat),
        }
        app.shutdown()
        for why, trace_id in kept.items():
            assert pipeline.wait_trace(trace_id, 1, timeout=30), why
        # Decisions are made per trace after decision_wait; once all kept ones are in, the dropped ones
        # were decided too (same batch), so their absence is final.
        pipeline.poll(lambda: pipeline.collector_metric("otelcol_processor_tail_sampling_global_count_traces_sampled",
                                                        sampled="false") >= len(dropped), timeout=30, what="drop decisions")
        for why, trace_id in dropped.items():
            assert pipeline.trace_spans(trace_id) == [], why
    finally:
        monkeypatch.undo()
        pipeline.stack.restart("collector")


def test_no_span_lost_when_jaeger_is_down_and_the_collector_restarts(pipeline: Pipeline):
    """Jaeger down, spans sent, Collector restarted, Jaeger back: every span arrives, exactly once."""
    exporter = "otlp_grpc/jaeger"
    sampled_before = pipeline.collector_metric("otelcol_processor_tail_sampling_global_count_traces_sampled", sampled="true")
    pipeline.stack.stop("jaeger")
    try:
        app = make_app(pipeline, "grpc", unique("e2e-outage"))
        trace_ids = [emit_rag_workflow(app, model="gpt-4o-mini") for _ in range(5)]
        app.shutdown()
        # Every trace passed tail sampling and sits in the persistent queue (or in a retrying consumer).
        pipeline.poll(lambda: pipeline.collector_metric("otelcol_processor_tail_sampling_global_count_traces_sampled", sampled="true")
             >= sampled_before + len(trace_ids), timeout=30, what="tail-sampling decisions for the outage traces")
        pipeline.poll(lambda: pipeline.collector_metric("otelcol_exporter_queue_size", exporter=exporter)
             + pipeline.collector_metric("otelcol_exporter_in_flight_requests", exporter=exporter) > 0,
             timeout=30, what="the outage spans in the exporter queue")
        pipeline.stack.restart("collector")
    finally:
        pipeline.stack.start("jaeger")

    traces = {tid: pipeline.wait_trace(tid, 4, timeout=60) for tid in trace_ids}
    # Exactly once: re-read every trace after all arrived, no span twice, none missing.
    for tid in trace_ids:
        spans = pipeline.trace_spans(tid)
        assert len(spans) == 4, (tid, [s["name"] for s in spans])
        assert len({s["spanId"] for s in spans}) == 4
    assert sum(len(s) for s in traces.values()) == 4 * len(trace_ids)
