"""End to end: calls made with the llm_otel API go through the real Collector into Prometheus and
Jaeger; ``llm-otel report`` and ``llm-otel trace``/``traces`` read them back.

Two phases of calls with a time mark between them. The report over a window covering both must
count exactly what was sent; the report over the window starting at the mark must count exactly
phase 2 (counters that existed before the mark are measured from their value at the mark; series
that were born after it count in full). Run: pytest -m stack tests/readside
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm_otel
import pytest
from llm_otel import _semconv as sc
from llm_otel import _telemetry
from llm_otel_tools.readside import report, traces
from llm_otel_tools.stack import Endpoints, Stack
from opentelemetry import trace as otel_trace
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.support import poll

pytestmark = pytest.mark.stack


MODEL_A, MODEL_B = "gpt-4o-mini", "gpt-4o"


class Sent:
    """What the test emitted, per phase and model: the numbers the report must give back."""

    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = defaultdict(lambda: {
            "calls": 0, "errors": 0, "input": 0, "output": 0, "cost": 0.0, "len_sum": 0, "len_count": 0,
            "quality": defaultdict(lambda: {"detected": 0, "evaluated": 0}),
        })
        self.feedback: list[float] = []

    def merged(self, other: Sent) -> Sent:
        out = Sent()
        for src in (self, other):
            for model, m in src.models.items():
                o = out.models[model]
                for key in ("calls", "errors", "input", "output", "cost", "len_sum", "len_count"):
                    o[key] += m[key]
                for name, q in m["quality"].items():
                    o["quality"][name]["detected"] += q["detected"]
                    o["quality"][name]["evaluated"] += q["evaluated"]
            out.feedback += src.feedback
        return out


class App:
    """Providers of one test app, exporting OTLP/gRPC to the stack; llm_otel bound to them."""

    def __init__(self, endpoints: Endpoints, service: str):
        resource = Resource.create({"service.name": service, "service.instance.id": uuid.uuid4().hex[:12]})
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoints.otlp_grpc, insecure=True), schedule_delay_millis=200))
        # Exports only on flush: each flush is one cumulative data point the test controls.
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoints.otlp_grpc, insecure=True),
                                               export_interval_millis=3_600_000)
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        self.telemetry = _telemetry.bind(self.tracer_provider, self.meter_provider)

    def flush(self) -> None:
        assert self.tracer_provider.force_flush(10_000)
        assert self.meter_provider.force_flush(10_000)

    def close(self) -> None:
        _telemetry.swap(None)
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    # ----------------------------------------------------------------- the instrumented app
    def ok_call(self, sent: Sent, model: str, tokens_in: int, tokens_out: int, text: str, stream: bool = False) -> None:
        with llm_otel.llm_call(provider="openai", model=model, stream=stream or None) as call:
            if stream:
                for piece in (text[: len(text) // 2], text[len(text) // 2:]):
                    time.sleep(0.002)
                    call.add_chunk(piece)
            call.response_model = model
            call.finish_reasons = ["stop"]
            call.input_tokens, call.output_tokens = tokens_in, tokens_out
            call.output_text = text
        m = sent.models[model]
        m["calls"] += 1
        m["input"] += tokens_in
        m["output"] += tokens_out
        assert call.cost_usd, f"no price for {model}: pick a priced model"
        m["cost"] += call.cost_usd
        m["len_sum"] += len(text)
        m["len_count"] += 1

    def failing_call(self, sent: Sent, model: str, exc: type[Exception]) -> str:
        trace_id = ""
        try:
            with llm_otel.llm_call(provider="openai", model=model):
                trace_id = format(otel_trace.get_current_span().get_span_context().trace_id, "032x")
                raise exc("upstream failed")
        except exc:
            pass
        sent.models[model]["calls"] += 1
        sent.models[model]["errors"] += 1
        return trace_id

    def evaluate(self, sent: Sent, model: str, name: str, detected: bool) -> None:
        label = "detected" if detected else "not_detected"
        self.telemetry[sc.METRIC_EVALUATION_RESULTS].add(1, {"gen_ai.request.model": model, "gen_ai.evaluation.name": name,
                                                  "gen_ai.evaluation.score.label": label})
        q = sent.models[model]["quality"][name]
        q["detected"] += int(detected)
        q["evaluated"] += 1

    def feedback(self, sent: Sent, score: float) -> None:
        self.telemetry[sc.METRIC_FEEDBACK_SCORE].record(score, {})
        sent.feedback.append(score)

    def rag_workflow(self, sent: Sent) -> str:
        """workflow > retrieval, agent > (chat, tool): the trace the tree test reads back."""
        with llm_otel.workflow("readside-rag"):
            trace_id = format(otel_trace.get_current_span().get_span_context().trace_id, "032x")
            with llm_otel.retrieval(data_source="docs", top_k=2) as r:
                r.documents = [("doc-1", 0.9), ("doc-2", 0.7)]
            with llm_otel.agent("helper"):
                self.ok_call(sent, MODEL_A, 300, 45, "OTLP is the OpenTelemetry protocol.")
                with llm_otel.tool(name="calc"):
                    pass
        return trace_id


def prom_value(prometheus: str, expr: str) -> float | None:
    result = report.Prometheus(prometheus).query(expr, time.time())
    return float(result[0]["value"][1]) if result else None


def wait_scraped(prometheus: str, service: str, sent: Sent) -> None:
    """Until Prometheus has scraped everything flushed so far (raw cumulative values, no functions)."""
    job = f'job="{service}"'
    want = {
        f"sum(gen_ai_client_operation_duration_seconds_count{{{job},gen_ai_operation_name!=\"retrieval\"}})": sum(m["calls"] for m in sent.models.values()),
        f"sum(gen_ai_client_token_usage_sum{{{job}}})": sum(m["input"] + m["output"] for m in sent.models.values()),
        f"sum(llm_otel_evaluation_results_total{{{job}}})": sum(q["evaluated"] for m in sent.models.values() for q in m["quality"].values()),
        f"sum(llm_otel_feedback_score_count{{{job}}})": len(sent.feedback),
    }
    poll(lambda: all(prom_value(prometheus, e) == v for e, v in want.items()), timeout=60,
         what=f"Prometheus to scrape {want}")


def assert_report_matches(data: dict[str, Any], sent: Sent) -> None:
    expected_models = {name for name, m in sent.models.items() if m["calls"]}
    assert set(data["models"]) == expected_models, data["models"].keys()
    for name in expected_models:
        got, m = data["models"][name], sent.models[name]
        assert got["calls"] == m["calls"], (name, got)
        assert got["errors"] == m["errors"], (name, got)
        assert got["error_ratio"] == pytest.approx(m["errors"] / m["calls"], abs=1e-6)
        assert got["tokens"]["input"] == m["input"] and got["tokens"]["output"] == m["output"], (name, got)
        assert got["cost_usd"] == pytest.approx(m["cost"], rel=1e-9, abs=1e-9)
        if m["len_count"]:
            assert got["response_length_avg"] == pytest.approx(m["len_sum"] / m["len_count"], abs=0.01)
        for qname, q in m["quality"].items():
            assert got["quality"][qname] == {"detected": q["detected"], "evaluated": q["evaluated"],
                                             "rate": round(q["detected"] / q["evaluated"], 6)}
    totals = data["totals"]
    assert totals["calls"] == sum(m["calls"] for m in sent.models.values())
    assert totals["errors"] == sum(m["errors"] for m in sent.models.values())
    assert totals["tokens"]["input"] == sum(m["input"] for m in sent.models.values())
    assert totals["tokens"]["output"] == sum(m["output"] for m in sent.models.values())
    assert totals["cost_usd"] == pytest.approx(sum(m["cost"] for m in sent.models.values()), rel=1e-9, abs=1e-9)
    assert totals["feedback"]["count"] == len(sent.feedback)
    assert totals["feedback"]["average"] == pytest.approx(sum(sent.feedback) / len(sent.feedback), abs=1e-4)


def run_json(main: Any, argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def app(readside_stack: tuple[Stack, Endpoints, Path]) -> Iterator[tuple[App, str]]:
    service = f"readside-{uuid.uuid4().hex[:8]}"
    application = App(readside_stack[1], service)
    try:
        yield application, service
    finally:
        application.close()


def test_report_and_traces_read_back_what_was_sent(
    readside_stack: tuple[Stack, Endpoints, Path], app: tuple[App, str],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, endpoints, state_dir = readside_stack
    application, service = app

    # ---- phase 1: model A only, plus the traced workflow and one failing call
    phase1 = Sent()
    for i in range(3):
        application.ok_call(phase1, MODEL_A, 100 + 10 * i, 20 + i, "x" * (40 + i))
    error_trace = application.failing_call(phase1, MODEL_A, TimeoutError)
    rag_trace = application.rag_workflow(phase1)
    application.evaluate(phase1, MODEL_A, "refusal", True)
    application.evaluate(phase1, MODEL_A, "refusal", False)
    application.feedback(phase1, 1.0)
    application.flush()
    wait_scraped(endpoints.prometheus, service, phase1)

    mark = time.time()
    time.sleep(1.5)  # no scrape that started before the mark can see phase 2

    # ---- phase 2: more of model A (a new error type = a series born in the window), model B streams
    phase2 = Sent()
    for i in range(2):
        application.ok_call(phase2, MODEL_A, 200 + i, 30 + i, "y" * (60 + i))
    application.failing_call(phase2, MODEL_A, ConnectionError)
    for i in range(3):
        application.ok_call(phase2, MODEL_B, 500 + i, 80 + i, "streamed answer " * (i + 1), stream=True)
    application.failing_call(phase2, MODEL_B, TimeoutError)
    application.evaluate(phase2, MODEL_A, "refusal", False)
    application.evaluate(phase2, MODEL_A, "refusal", False)
    application.evaluate(phase2, MODEL_B, "hedging", True)
    for _ in range(3):
        application.evaluate(phase2, MODEL_B, "hedging", False)
    application.feedback(phase2, 0.0)
    application.feedback(phase2, 0.5)
    application.flush()
    both = phase1.merged(phase2)
    wait_scraped(endpoints.prometheus, service, both)

    # ---- report over both phases; the Prometheus URL comes from the stack's state dir
    monkeypatch.setenv("LLM_OTEL_STACK_STATE_DIR", str(state_dir))
    monkeypatch.delenv("LLM_OTEL_PROMETHEUS_URL", raising=False)
    everything = run_json(report.main, ["--json", "--window", "10m", "--service", service], capsys)
    assert everything["prometheus"] == endpoints.prometheus
    assert everything["service"] == service and everything["method"] == "counter-delta"
    assert_report_matches(everything, both)
    assert everything["models"][MODEL_A]["latency_seconds"]["p50"] is not None
    assert everything["models"][MODEL_B]["time_to_first_chunk_seconds"]["p95"] is not None
    assert everything["models"][MODEL_A]["time_to_first_chunk_seconds"]["p95"] is None
    assert isinstance(everything["alerts"], list)

    # ---- report over the window that starts at the mark: exactly phase 2
    window_ms = int((time.time() - mark) * 1000)
    since_mark = run_json(report.main, ["--json", "--window", f"{window_ms}ms", "--service", service,
                                        "--prometheus", endpoints.prometheus], capsys)
    assert_report_matches(since_mark, phase2)

    # another service's name filters everything out
    other = run_json(report.main, ["--json", "--window", "10m", "--service", "no-such-service",
                                   "--prometheus", endpoints.prometheus], capsys)
    assert other["models"] == {} and other["totals"]["calls"] == 0

    # the table renders (rich or plain) with one row per model and the totals
    assert report.main(["--window", "10m", "--service", service, "--prometheus", endpoints.prometheus]) == 0
    table = capsys.readouterr().out
    assert MODEL_A in table and MODEL_B in table and "TOTAL" in table

    # ---- trace: the workflow as a tree with the right nesting
    poll(lambda: len(traces.fetch_trace(endpoints.jaeger_query, rag_trace)) >= 5, timeout=60,
         what=f"5 spans of trace {rag_trace} in Jaeger")
    assert traces.main_trace([rag_trace, "--jaeger", endpoints.jaeger_query]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"trace {rag_trace}"
    shape = [re.sub(r"(\S)  .*", r"\1", line) for line in lines[1:]]
    assert shape == [
        "invoke_workflow readside-rag",
        "├─ retrieval docs",
        "└─ invoke_agent helper",
        f"   ├─ chat {MODEL_A}",
        "   └─ execute_tool calc",
    ], lines
    chat_line = lines[4]
    assert f"model={MODEL_A}" in chat_line and "in=300" in chat_line and "out=45" in chat_line
    assert "cost=$" in chat_line and "finish=stop" in chat_line and f"[{service}]" in chat_line
    assert "ERROR" not in "\n".join(lines)

    tree = run_json(traces.main_trace, [rag_trace, "--json", "--jaeger", endpoints.jaeger_query], capsys)
    assert tree["span_count"] == 5 and tree["error"] is False
    (root,) = tree["roots"]
    agent = root["children"][1]
    assert [c["name"] for c in agent["children"]] == [f"chat {MODEL_A}", "execute_tool calc"]
    assert agent["children"][0]["attributes"]["gen_ai.usage.input_tokens"] == 300

    # ---- the failing call's trace is marked as an error
    poll(lambda: traces.fetch_trace(endpoints.jaeger_query, error_trace), timeout=60, what=f"trace {error_trace}")
    assert traces.main_trace([error_trace, "--jaeger", endpoints.jaeger_query]) == 0
    err_out = capsys.readouterr().out
    assert "error.type=TimeoutError" in err_out and "ERROR" in err_out

    # ---- traces: recent traces of the service, newest first, both found, error flags right
    def listed() -> list[dict[str, Any]] | None:
        rows = traces.search_traces(endpoints.jaeger_query, service, "15m", 50)
        ids = {r["trace_id"] for r in rows}
        return rows if {rag_trace, error_trace} <= ids else None

    poll(listed, timeout=60, what="both traces in the Jaeger search")
    rows = run_json(traces.main_traces, ["--service", service, "--last", "50", "--lookback", "15m", "--json",
                                         "--jaeger", endpoints.jaeger_query], capsys)
    by_id = {r["trace_id"]: r for r in rows}
    assert by_id[rag_trace]["root"] == "invoke_workflow readside-rag"
    assert by_id[rag_trace]["span_count"] == 5 and by_id[rag_trace]["error"] is False
    assert by_id[error_trace]["error"] is True and by_id[error_trace]["root"] == f"chat {MODEL_A}"
    starts = [r["start"] for r in rows]
    assert starts == sorted(starts, reverse=True)
    assert traces.main_traces(["--service", service, "--jaeger", endpoints.jaeger_query]) == 0
    assert rag_trace in capsys.readouterr().out

    empty = run_json(traces.main_traces, ["--service", "no-such-service", "--json", "--jaeger", endpoints.jaeger_query], capsys)
    assert empty == []
