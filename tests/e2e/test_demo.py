"""The demo, end to end against the real stack: what a new user runs first.

The instrumented service and the local LLM run as their own processes (configured only through
OTEL_* variables), the traffic generator sends a seeded mix, and then every promise is checked
where a user would look: Jaeger for traces, Prometheus (through `llm-otel report`) for figures,
the Collector's event file for evaluation and feedback events.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import fields, is_dataclass
from typing import Any

import llm_otel._semconv as sc
import pytest
from llm_otel_tools.demo.cli import SERVICE_NAME, start_apps, wait_for_scrape
from llm_otel_tools.demo.tool_server import SERVICE_NAME as TOOLS_SERVICE_NAME
from llm_otel_tools.demo.traffic import run_traffic
from llm_otel_tools.readside import report
from llm_otel_tools.readside.events import read_events

pytestmark = pytest.mark.stack


def _events(path) -> list[dict[str, Any]]:
    """gen_ai events from the Collector's OTLP-JSON lines, read the way `llm-otel events` reads them."""
    return [{**e, "attrs": e["attributes"]} for e in read_events(path)]


def _combined(a: Any, b: Any) -> Any:
    """Two traffic summaries as one (counts added, lists joined; the first round's seed and example)."""
    if is_dataclass(a):
        return type(a)(**{f.name: getattr(a, f.name) if f.name == "seed" else _combined(getattr(a, f.name), getattr(b, f.name))
                          for f in fields(a)})
    if isinstance(a, dict):  # Counter included
        return type(a)({k: _combined(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}})
    if isinstance(a, (int, float, list)):
        return a + b
    return a if a is not None else b


@pytest.fixture(scope="module")
def demo_run(pipeline):
    started = time.time()
    apps = start_apps(pipeline.stack, pipeline.endpoints)
    # Two rounds, the second once Prometheus has scraped the first: rate() counts a series from its
    # first scrape on, so a model whose calls all fell between two metric exports (a 2 s burst can)
    # would show no rate and no SLO series; a second round gives every model an increase to see.
    first = run_traffic(apps["demo service"], requests=30, concurrency=4, seed=7)
    wait_for_scrape(pipeline.endpoints.prometheus, first.llm_calls_total(), timeout=90)
    summary = _combined(first, run_traffic(apps["demo service"], requests=30, concurrency=4, seed=8))
    wait_for_scrape(pipeline.endpoints.prometheus, summary.llm_calls_total(), timeout=90)
    # Stopping the service flushes what its SDK still buffers (and the MCP tool server's, which exits
    # with it); the checks below then read each trace once Jaeger holds all of it.
    pipeline.stack.stop("demo-service")
    pipeline.settled_traces(summary.trace_ids)
    yield pipeline, summary, started
    pipeline.stack.stop("local-llm")


def test_report_counts_exactly_what_the_traffic_sent(demo_run, capsys):
    pipeline, summary, started = demo_run
    window = f"{int(time.time() - started) + 30}s"
    capsys.readouterr()
    assert report.main(["--json", "--window", window, "--prometheus", pipeline.endpoints.prometheus,
                        "--service", SERVICE_NAME]) == 0
    data = json.loads(capsys.readouterr().out)
    models = data["models"]
    for operation, by_model in summary.llm.items():
        for model, stats in by_model.items():
            row = models[model]
            assert row["calls"] == stats.calls, (model, row)
            assert row["errors"] == stats.failed, (model, row)
            assert row["tokens"].get("input", 0) == stats.input_tokens, (model, row)
            assert row["tokens"].get("output", 0) == stats.output_tokens, (model, row)
    assert data["totals"]["calls"] == summary.llm_calls_total()
    assert data["totals"]["errors"] == summary.llm_calls_total(ok=False) > 0
    # every column the report promises is non-zero for the demo traffic
    totals = data["totals"]
    for key in ("calls", "errors", "cost_usd", "response_length_avg"):
        assert totals[key] > 0, key
    assert totals["tokens"]["input"] > 0 and totals["tokens"]["output"] > 0
    for quantiles in (totals["latency_seconds"], totals["time_to_first_chunk_seconds"]):
        assert all(quantiles[q] > 0 for q in ("p50", "p95", "p99")), quantiles
    for evaluator in ("refusal", "hedging"):
        assert totals["quality"][evaluator]["rate"] > 0, totals["quality"]
    assert data["totals"]["feedback"]["count"] == summary.feedback > 0

    # cost: the metric pipeline agrees with the trace pipeline (llm_otel.cost.usd on every model span)
    traces = [pipeline.trace_spans(t) for t in summary.trace_ids]
    span_cost = sum(s["attrs"].get("llm_otel.cost.usd", 0) for spans in traces for s in spans)
    assert span_cost > 0
    assert totals["cost_usd"] >= span_cost - 1e-9  # failed requests' traces are not in trace_ids


def test_traces_nest_server_workflow_agent_and_operations(demo_run):
    pipeline, summary, _ = demo_run
    shapes = Counter()
    retrievals = []
    for trace_id in summary.trace_ids:
        spans = pipeline.trace_spans(trace_id)
        retrievals += [s for s in spans if s["name"] == "retrieval demo-docs"]
        by_id = {s["spanId"]: s for s in spans}
        for span in spans:
            parent = by_id.get(span.get("parentSpanId", ""))
            grandparent = by_id.get(parent.get("parentSpanId", "")) if parent else None
            if span["name"].startswith(("retrieval ", "chat ", "execute_tool ", "embeddings ")) and parent and grandparent:
                shapes[(grandparent["name"], parent["name"], span["name"].split(" ")[0])] += 1
    assert shapes[("POST /rag", "invoke_workflow rag", "retrieval")] > 0
    # the retrieval comes from the Qdrant instrumentor (configure() turned it on), not from a manual span
    assert retrievals and all(s["attrs"][sc.DB_SYSTEM_NAME] == sc.DB_SYSTEM_QDRANT for s in retrievals)
    assert all(s["attrs"][sc.DB_OPERATION_NAME] == "query_points" for s in retrievals)
    assert shapes[("POST /rag", "invoke_workflow rag", "chat")] > 0
    assert shapes[("POST /agent", "invoke_agent demo-agent", "chat")] > 0, (shapes, summary)
    assert shapes[("POST /agent", "invoke_agent demo-agent", "execute_tool")] > 0


def test_agent_tool_calls_cross_into_the_mcp_server_process_in_one_trace(demo_run):
    """The agent's tools run in an MCP server subprocess: its spans join the agent's trace in Jaeger."""
    pipeline, summary, _ = demo_run

    def crossing_trace():
        for trace_id in summary.trace_ids:
            spans = pipeline.trace_spans(trace_id)
            if any(s["service"] == TOOLS_SERVICE_NAME for s in spans):
                return spans
        return None

    spans = pipeline.poll(crossing_trace, timeout=60, what=f"a trace with spans from {TOOLS_SERVICE_NAME}")
    assert {s["service"] for s in spans} == {SERVICE_NAME, TOOLS_SERVICE_NAME}
    assert len({s["traceId"] for s in spans}) == 1
    by_id = {s["spanId"]: s for s in spans}
    served = [s for s in spans if s["service"] == TOOLS_SERVICE_NAME and s["attrs"].get(sc.MCP_METHOD_NAME) == sc.MCP_TOOLS_CALL]
    assert served
    for handled in served:  # POST /agent > invoke_agent > execute_tool (demo) > tools/call (MCP server)
        tool = handled["attrs"][sc.GEN_AI_TOOL_NAME]
        assert handled["name"] == f"tools/call {tool}"
        call = by_id[handled["parentSpanId"]]
        assert (call["service"], call["name"]) == (SERVICE_NAME, f"{sc.OP_EXECUTE_TOOL} {tool}")
        assert call["attrs"][sc.NETWORK_TRANSPORT] == sc.TRANSPORT_PIPE
        assert call["attrs"][sc.JSONRPC_REQUEST_ID] == handled["attrs"][sc.JSONRPC_REQUEST_ID]
        agent = by_id[call["parentSpanId"]]
        assert agent["name"] == "invoke_agent demo-agent"
        assert by_id[agent["parentSpanId"]]["name"] == "POST /agent"


def test_evaluation_and_feedback_events_land_on_the_right_traces(demo_run):
    pipeline, summary, _ = demo_run
    path = pipeline.stack.events_file
    events = pipeline.poll(
        lambda: (e := _events(path)) and sum(x["attrs"].get("gen_ai.evaluation.name") == "user_feedback" for x in e) >= summary.feedback and e,
        timeout=30, what="feedback events in the Collector's events file")
    evaluations = [e for e in events if e["name"] == "gen_ai.evaluation.result"]
    refusals = [e for e in evaluations if e["attrs"].get("gen_ai.evaluation.name") == "refusal"
                and e["attrs"].get("gen_ai.evaluation.score.label") == "detected"]
    assert refusals, "the traffic includes refusals; the refusal evaluator must flag them"
    refusal = refusals[0]
    flagged = pipeline.poll(
        lambda: next((s for s in pipeline.trace_spans(refusal["trace_id"]) if s["spanId"] == refusal["span_id"]), None),
        timeout=30, what=f"span {refusal['span_id']} of trace {refusal['trace_id']} (a refusal event's span) in Jaeger")
    assert flagged["name"].startswith("chat ")  # the event is tied to the model call that refused
    assert any(ev.get("name") == "gen_ai.evaluation.result" for ev in flagged.get("events", []))

    feedback = [e for e in evaluations if e["attrs"].get("gen_ai.evaluation.name") == "user_feedback"]
    assert len(feedback) == summary.feedback
    assert {e["trace_id"] for e in feedback} <= set(summary.trace_ids)  # each on the trace it rates


def test_latency_exemplars_link_metrics_to_traces(demo_run):
    pipeline, summary, started = demo_run
    query = urllib.parse.urlencode({"query": f'gen_ai_client_operation_duration_seconds_bucket{{job="{SERVICE_NAME}"}}',
                                    "start": f"{started - 60:.3f}", "end": f"{time.time() + 60:.3f}"})
    def get_json(url):
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    data = pipeline.poll(lambda: (d := get_json(f"{pipeline.endpoints.prometheus}/api/v1/query_exemplars?{query}"))["data"] and d,
                         timeout=30, what="exemplars on the duration histogram")
    trace_ids = {e["labels"].get("trace_id") for series in data["data"] for e in series["exemplars"]}
    trace_ids.discard(None)
    assert trace_ids, data
    # an exemplar's trace is a real trace in Jaeger that contains a model call
    spans = pipeline.trace_spans(sorted(trace_ids)[0])
    assert any(s["name"].startswith(("chat ", "embeddings ")) for s in spans)


def test_demo_service_reports_its_process_next_to_the_host(demo_run):
    """configure() in the demo service turns process metrics on; the Collector adds the host's."""
    pipeline, _, _ = demo_run
    cpu = pipeline.wait_query(f'process_cpu_time_seconds_total{{job="{SERVICE_NAME}"}}', lambda r: len(r) == 2)
    assert sum(float(s["value"][1]) for s in cpu) > 0
    assert pipeline.wait_query(f'process_memory_usage_bytes{{job="{SERVICE_NAME}"}}')
    data = report.build_report(pipeline.endpoints.prometheus, "5m", service=SERVICE_NAME)
    assert [p["service"] for p in data["system"]["processes"]] == [SERVICE_NAME]
    assert data["system"]["hosts"]
    assert {o["model"] for o in data["slo"]["objectives"]}  # the demo's models have SLO series
