"""Read side on canned backend answers: exact counter deltas, quantiles, report shape, trace trees, errors.

The fake Prometheus below evaluates the four query forms the report sends (``last_over_time``,
``resets``, a raw range selector, each at a given time) over raw samples, so the counter-delta
method is checked against series that start inside the window, pause, and reset.
"""

from __future__ import annotations

import json
import math
import re
import socket
from typing import Any

import pytest
from llm_otel_tools.readside import _http, report, system, traces


# ----------------------------------------------------------------------------- fake Prometheus
def _instant_exprs(window: str = "15m") -> set[str]:
    queries = (system.HOST_QUERIES, system.PROCESS_QUERIES, system.GPU_QUERIES, system.COMPUTE_QUERIES, system.SLO_QUERIES)
    exprs = {e.replace("{SEL}", "").replace("WINDOW", window) for q in queries for e in q.values()}
    return exprs | set(system.BUDGETS.values())


SYSTEM_EXPRS = _instant_exprs()
_RANGE = re.compile(r"^(?:(last_over_time|resets)\()?([a-z_:]+)(?:\{[^}]*\})?\[(\d+)(ms|h)\]\)?$")


class FakePrometheus(report.Prometheus):
    """Raw samples per series; answers the report's queries like Prometheus 2.x would."""

    def __init__(self, series: list[tuple[str, dict[str, str], list[tuple[float, float]]]], alerts: list[dict[str, Any]] | None = None,
                 instant: dict[str, list[dict[str, Any]]] | None = None):
        super().__init__("http://prometheus.test")
        self.series = series
        self._alerts = alerts or []
        self.instant = instant or {}  # canned answers to the system/SLO section's instant queries
        self.queries: list[str] = []

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        self.queries.append(expr)
        m = _RANGE.match(expr)
        if not m and expr in SYSTEM_EXPRS:
            return self.instant.get(expr, [])
        assert m, expr
        func, name, n, unit = m.groups()
        width = int(n) / 1000 if unit == "ms" else int(n) * 3600
        out = []
        for metric, labels, samples in self.series:
            if metric != name:
                continue
            inside = [(t, v) for t, v in samples if at - width <= t <= at]
            if not inside:
                continue
            full = {"__name__": metric, **labels}
            if func == "last_over_time":
                out.append({"metric": labels, "value": [at, str(inside[-1][1])]})
            elif func == "resets":
                n_resets = sum(1 for (_, a), (_, b) in zip(inside, inside[1:], strict=False) if b < a)
                out.append({"metric": labels, "value": [at, str(n_resets)]})
            else:
                out.append({"metric": full, "values": [[t, str(v)] for t, v in inside]})
        return out

    def alerts(self) -> list[dict[str, Any]]:
        return self._alerts


END = 10_000.0
START = END - 900  # window 15m


def samples(*points: tuple[float, float]) -> list[tuple[float, float]]:
    return list(points)


def count_series(model: str, error: str | None = None, job: str = "app") -> dict[str, str]:
    labels = {"gen_ai_request_model": model, "job": job}
    if error:
        labels["error_type"] = error
    return labels


def test_exact_increase_handles_new_paused_and_reset_series() -> None:
    name = "gen_ai_client_operation_duration_seconds_count"
    prom = FakePrometheus([
        # existed before the window: 10 before, 17 at the end -> 7
        (name, {"s": "old"}, samples((START - 600, 4), (START - 30, 10), (START + 100, 12), (END - 5, 17))),
        # born inside the window with one sample of 3 -> 3 (increase() would say nothing)
        (name, {"s": "new"}, samples((END - 20, 3))),
        # paused 40 minutes (beyond the 5m lookback) then grew: baseline 5 still applies -> 2
        (name, {"s": "paused"}, samples((START - 2400, 5), (START + 300, 7))),
        # reset inside the window: 8 -> 9 (+1), restart, 2 (+2), 4 (+2) -> 5
        (name, {"s": "reset"}, samples((START - 10, 8), (START + 10, 9), (START + 20, 2), (START + 30, 4))),
        # no sample in the window: contributes nothing
        (name, {"s": "gone"}, samples((START - 100, 50))),
    ])
    got = {labels["s"]: inc for labels, inc in report.exact_increase(prom, name, START, END)}
    assert got == {"old": 7, "new": 3, "paused": 2, "reset": 5}
    # the raw range was fetched only because one series reset
    assert sum(1 for q in prom.queries if q.startswith(name + "[")) == 1


def test_exact_increase_without_resets_needs_three_queries() -> None:
    prom = FakePrometheus([("x_total", {}, samples((START - 5, 1), (END, 2)))])
    assert report.exact_increase(prom, "x_total", START, END) == [({}, 1.0)]
    assert len(prom.queries) == 3


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(0.1, 0), (0.5, 10), (math.inf, 10)], 0.3),
        (0.5, [(0.1, 4), (0.5, 10), (math.inf, 10)], 0.1 + 0.4 * (1 / 6)),
        (0.99, [(0.1, 0), (0.5, 5), (math.inf, 10)], 0.5),  # in +Inf: upper bound of the last finite bucket
        (0.5, [(0.1, 10), (math.inf, 10)], 0.05),
        (0.5, [(0.1, 0), (math.inf, 0)], None),
        (0.5, [(0.1, 3)], None),  # no +Inf bucket
    ],
)
def test_bucket_quantile_matches_prometheus(q: float, buckets: list[tuple[float, float]], expected: float | None) -> None:
    got = report.bucket_quantile(q, buckets)
    assert got == expected if expected is None else got == pytest.approx(expected)


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("1h30m", 5400), ("2500ms", 2.5), ("1d", 86400)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert report.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "m", "-5m", "0s", "1.5h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        report.parse_duration(text)


def test_service_matcher_escapes() -> None:
    assert report.service_matcher(None) == ""
    assert report.service_matcher("my.app") == 'job=~"(?:.+/)?my\\\\.app"'


def _bucket_series(metric: str, model: str, counts: dict[float, int], t: float) -> list[tuple[str, dict[str, str], list[tuple[float, float]]]]:
    out = []
    for le, c in counts.items():
        le_s = "+Inf" if math.isinf(le) else str(le)
        out.append((metric, {"gen_ai_request_model": model, "le": le_s}, samples((t, c))))
    return out


def canned_report_prometheus() -> FakePrometheus:
    t = END - 10
    count = "gen_ai_client_operation_duration_seconds_count"
    series = [
        (count, count_series("m1"), samples((START - 60, 2), (t, 7))),          # 5 ok in the window
        (count, count_series("m1", "TimeoutError"), samples((t, 2))),           # 2 errors, new series
        (count, count_series("m2"), samples((t, 3))),
        ("gen_ai_client_token_usage_sum", {"gen_ai_request_model": "m1", "gen_ai_token_type": "input"}, samples((START - 60, 100), (t, 600))),
        ("gen_ai_client_token_usage_sum", {"gen_ai_request_model": "m1", "gen_ai_token_type": "output"}, samples((t, 50))),
        ("gen_ai_client_token_usage_sum", {"gen_ai_request_model": "m2", "gen_ai_token_type": "input"}, samples((t, 30))),
        ("llm_otel_client_cost_total", {"gen_ai_request_model": "m1"}, samples((START - 60, 0.5), (t, 0.75))),
        ("llm_otel_evaluation_results_total", {"gen_ai_request_model": "m1", "gen_ai_evaluation_name": "refusal", "gen_ai_evaluation_score_label": "detected"}, samples((t, 1))),
        ("llm_otel_evaluation_results_total", {"gen_ai_request_model": "m1", "gen_ai_evaluation_name": "refusal", "gen_ai_evaluation_score_label": "not_detected"}, samples((t, 3))),
        ("llm_otel_evaluation_results_total", {"gen_ai_request_model": "m1", "gen_ai_evaluation_name": "hedging", "gen_ai_evaluation_score_label": "not_detected"}, samples((t, 4))),
        ("llm_otel_evaluation_results_total", {"gen_ai_request_model": "m1", "gen_ai_evaluation_name": "sentiment", "gen_ai_evaluation_score_label": "scored"}, samples((t, 5))),
        ("llm_otel_client_response_length_sum", {"gen_ai_request_model": "m1"}, samples((t, 500))),
        ("llm_otel_client_response_length_count", {"gen_ai_request_model": "m1"}, samples((t, 5))),
        ("llm_otel_feedback_score_sum", {}, samples((START - 60, 1), (t, 2.5))),
        ("llm_otel_feedback_score_count", {}, samples((START - 60, 1), (t, 4))),
        # a model active only before the window is not listed
        (count, count_series("old-model"), samples((START - 60, 9))),
    ]
    series += _bucket_series("gen_ai_client_operation_duration_seconds_bucket", "m1", {0.1: 0, 0.5: 7, math.inf: 7}, t)
    series += _bucket_series("gen_ai_client_operation_time_to_first_chunk_seconds_bucket", "m2", {0.1: 3, math.inf: 3}, t)
    alerts = [
        {"labels": {"alertname": "LLMHighErrorRate", "severity": "warning", "gen_ai_request_model": "m1"},
         "annotations": {"summary": "More than 5% of LLM calls fail for m1"}, "state": "firing",
         "activeAt": "2026-11-22T08:00:00Z", "value": "2.857e-01"},
        {"labels": {"alertname": "LLMHighLatency", "severity": "warning"}, "annotations": {}, "state": "pending"},
    ]
    return FakePrometheus(series, alerts)


def test_build_report_canned() -> None:
    data = report.build_report(canned_report_prometheus(), "15m", end=END)
    assert set(data) == {"window", "window_seconds", "start", "end", "prometheus", "service", "method", "models", "totals", "alerts",
                         "system", "slo"}
    assert list(data["models"]) == ["m1", "m2"]
    m1, m2, totals = data["models"]["m1"], data["models"]["m2"], data["totals"]
    assert (m1["calls"], m1["errors"], m1["error_ratio"]) == (7, 2, round(2 / 7, 6))
    assert m1["tokens"] == {"input": 500, "output": 50}
    assert m1["cost_usd"] == pytest.approx(0.25)
    assert m1["quality"] == {"hedging": {"detected": 0, "evaluated": 4, "rate": 0.0},
                             "refusal": {"detected": 1, "evaluated": 4, "rate": 0.25}}
    assert m1["response_length_avg"] == 100.0
    assert m1["latency_seconds"]["p50"] == pytest.approx(0.1 + 0.4 * 0.5)
    assert m1["time_to_first_chunk_seconds"] == {"p50": None, "p95": None, "p99": None}
    assert m2["time_to_first_chunk_seconds"]["p50"] == pytest.approx(0.05)
    assert (m2["calls"], m2["errors"], m2["error_ratio"]) == (3, 0, 0.0)
    assert (totals["calls"], totals["errors"]) == (10, 2)
    assert totals["tokens"] == {"input": 530, "output": 50}
    assert totals["feedback"] == {"count": 3, "sum": 1.5, "average": 0.5}
    assert [a["name"] for a in data["alerts"]] == ["LLMHighErrorRate"]
    assert data["alerts"][0]["severity"] == "warning"
    json.dumps(data)  # serialisable as is
    text = report.render_text(data)
    assert "m1" in text and "TOTAL" in text and "LLMHighErrorRate" in text and "0.50 average over 3" in text


def test_report_main_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    assert report.main(["--prometheus", url]) == 1
    err = capsys.readouterr().err
    assert url in err and "llm-otel stack up" in err


def test_report_main_bad_window() -> None:
    with pytest.raises(SystemExit) as exc:
        report.main(["--window", "soon", "--prometheus", "http://127.0.0.1:1"])
    assert exc.value.code == 2


def test_default_url_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "_stack_url", lambda key: None)
    monkeypatch.delenv("LLM_OTEL_PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("LLM_OTEL_JAEGER_URL", raising=False)
    assert _http.default_url("prometheus") == "http://127.0.0.1:9090"
    assert _http.default_url("jaeger_query") == "http://127.0.0.1:16686"
    monkeypatch.setenv("LLM_OTEL_PROMETHEUS_URL", "http://prom.example:9090/")
    assert _http.default_url("prometheus") == "http://prom.example:9090"
    monkeypatch.setattr(_http, "_stack_url", lambda key: "http://127.0.0.1:5555")
    assert _http.default_url("prometheus") == "http://127.0.0.1:5555"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------------ traces
def _span(span_id: str, name: str, start_ms: int, end_ms: int, parent: str | None = None, attrs: dict[str, Any] | None = None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        if isinstance(v, list):
            return {"arrayValue": {"values": [value(x) for x in v]}}
        return {"stringValue": v}

    span = {
        "traceId": "ab" * 16, "spanId": span_id, "name": name, "kind": 1,
        "startTimeUnixNano": str(1_795_000_000_000_000_000 + start_ms * 1_000_000),
        "endTimeUnixNano": str(1_795_000_000_000_000_000 + end_ms * 1_000_000),
        "attributes": [{"key": k, "value": value(v)} for k, v in (attrs or {}).items()],
        "status": status or {},
    }
    if parent:
        span["parentSpanId"] = parent
    return span


CANNED_TRACE = {"result": {"resourceSpans": [
    {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "rag-app"}}]},
     "scopeSpans": [{"scope": {"name": "llm_otel"}, "spans": [
         # listed out of order on purpose
         _span("c2", "execute_tool calc", 60, 70, parent="r1", attrs={"gen_ai.tool.name": "calc"}),
         _span("g1", "chat gpt-4o-mini", 15, 50, parent="c1", attrs={
             "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 250, "gen_ai.usage.output_tokens": 40,
             "llm_otel.cost.usd": 0.0000615, "gen_ai.response.finish_reasons": ["stop"]}),
         _span("r1", "invoke_workflow rag", 0, 100),
         _span("c1", "invoke_agent helper", 10, 55, parent="r1"),
         _span("e1", "chat gpt-4o", 80, 95, parent="r1", attrs={"error.type": "RateLimitError"},
               status={"code": 2, "message": "429"}),
         _span("o1", "retrieval docs", 5, 8, parent="zz", status={"code": "STATUS_CODE_ERROR"}),
     ]}]},
]}}


def test_build_and_render_tree() -> None:
    roots = traces.build_tree(traces.flatten(CANNED_TRACE))
    assert [r["name"] for r in roots] == ["invoke_workflow rag", "retrieval docs"]
    root = roots[0]
    assert [c["name"] for c in root["children"]] == ["invoke_agent helper", "execute_tool calc", "chat gpt-4o"]
    chat = root["children"][0]["children"][0]
    assert chat["name"] == "chat gpt-4o-mini" and chat["duration_ms"] == 35.0
    assert chat["attributes"] == {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 250,
                                  "gen_ai.usage.output_tokens": 40, "llm_otel.cost.usd": 0.0000615,
                                  "gen_ai.response.finish_reasons": ["stop"]}
    assert root["children"][2]["error"] is True and roots[1]["error"] is True
    text = traces.render_tree(roots, "ab" * 16)
    assert text.splitlines() == [
        "trace " + "ab" * 16,
        "invoke_workflow rag  100.0 ms  [rag-app]",
        "├─ invoke_agent helper  45.0 ms  [rag-app]",
        "│  └─ chat gpt-4o-mini  35.0 ms  [rag-app]  model=gpt-4o-mini  in=250  out=40  cost=$0.000062  finish=stop",
        "├─ execute_tool calc  10.0 ms  [rag-app]  tool=calc",
        "└─ chat gpt-4o  15.0 ms  [rag-app]  error.type=RateLimitError  ERROR: 429",
        "retrieval docs  3.0 ms  [rag-app]  ERROR  (parent zz missing)",
    ]


def test_summarize() -> None:
    row = traces.summarize("ab" * 16, traces.flatten(CANNED_TRACE))
    assert row["root"] == "invoke_workflow rag" and row["span_count"] == 6 and row["error"] is True
    assert row["duration_ms"] == 100.0 and row["service"] == "rag-app"


def test_trace_main_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(traces, "get_json", lambda base, path, params=None, **kw: CANNED_TRACE)
    assert traces.main_trace(["AB" * 16, "--json", "--jaeger", "http://jaeger.test"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["trace_id"] == "ab" * 16 and out["span_count"] == 6 and out["error"] is True


def test_traces_search_404_is_empty(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[str, Any] = {}

    def not_found(base: str, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        seen.update(params or {})
        raise _http.NotFound('Jaeger at x: 404 {"error":{"httpCode":404,"message":"No traces found"}}')

    monkeypatch.setattr(traces, "get_json", not_found)
    assert traces.main_traces(["--service", "svc", "--jaeger", "http://jaeger.test"]) == 0
    assert "no traces of service 'svc'" in capsys.readouterr().out
    assert seen["query.service_name"] == "svc" and seen["query.num_traces"] >= 10
    assert seen["query.start_time_min"].endswith("Z") and seen["query.start_time_max"].endswith("Z")
    assert traces.main_traces(["--service", "svc", "--jaeger", "http://jaeger.test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_traces_search_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    older = json.loads(json.dumps(CANNED_TRACE))
    for rs in older["result"]["resourceSpans"]:
        for span in rs["scopeSpans"][0]["spans"]:
            span["traceId"] = "cd" * 16
            span["startTimeUnixNano"] = str(int(span["startTimeUnixNano"]) - 10**12)
            span["endTimeUnixNano"] = str(int(span["endTimeUnixNano"]) - 10**12)
    both = {"result": {"resourceSpans": CANNED_TRACE["result"]["resourceSpans"] + older["result"]["resourceSpans"]}}
    monkeypatch.setattr(traces, "get_json", lambda *a, **kw: both)
    rows = traces.search_traces("http://jaeger.test", "rag-app", "1h", 10)
    assert [r["trace_id"] for r in rows] == ["ab" * 16, "cd" * 16]
    assert traces.search_traces("http://jaeger.test", "rag-app", "1h", 1)[0]["trace_id"] == "ab" * 16


@pytest.mark.parametrize("argv", [["0123456789abcdef0123456789abcdef"], ["--service", "svc"]])
def test_jaeger_unreachable(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    main = traces.main_traces if argv[0] == "--service" else traces.main_trace
    assert main([*argv, "--jaeger", url]) == 1
    err = capsys.readouterr().err
    assert url in err and "llm-otel stack up" in err


def test_trace_not_found(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def nf(*a: Any, **kw: Any) -> Any:
        raise _http.NotFound("404")

    monkeypatch.setattr(traces, "get_json", nf)
    assert traces.main_trace(["ab" * 16, "--jaeger", "http://jaeger.test"]) == 1
    assert "not found" in capsys.readouterr().err


def test_trace_rejects_bad_id() -> None:
    with pytest.raises(SystemExit) as exc:
        traces.main_trace(["not-a-trace"])
    assert exc.value.code == 2


# ------------------------------------------------------------------------------ host/GPU and SLO section
def _point(labels: dict[str, str], value: float) -> dict[str, Any]:
    return {"metric": labels, "value": [END, str(value)]}


def test_system_and_slo_sections_from_canned_answers() -> None:
    q = {**system.HOST_QUERIES, **system.PROCESS_QUERIES, **system.GPU_QUERIES, **system.COMPUTE_QUERIES, **system.SLO_QUERIES}
    e = {k: v.replace("{SEL}", "").replace("WINDOW", "15m") for k, v in q.items()}
    gpu = {"hw_id": "GPU-5c7e", "hw_name": "gpu0", "hw_model": "NVIDIA A10G", "job": "rag-app"}
    pair = {"job": "rag-app", "gen_ai_request_model": "gpt-4o"}
    instant = {
        e["cpu_utilization"]: [_point({"instance": "host-a"}, 0.42)],
        e["memory_utilization"]: [_point({"instance": "host-a"}, 0.5)],
        e["load_1m"]: [_point({"instance": "host-a"}, 1.25)],
        e["cpu_cores"]: [_point({"job": "rag-app"}, 0.3)],
        e["memory_bytes"]: [_point({"job": "rag-app"}, 200 * 2**20)],
        e["utilization"]: [_point(gpu, 0.87)],
        e["memory_used_bytes"]: [_point(gpu, 20 * 2**30)],
        e["memory_limit_bytes"]: [_point(gpu, 24 * 2**30)],
        e["cpu_seconds"]: [_point({"gen_ai_request_model": "llama"}, 12.5)],
        e["availability_1h"]: [_point(pair, 0.8)],
        e["error_ratio_1h"]: [_point(pair, 0.2)],
        e["slow_ratio_1h"]: [_point(pair, float("nan"))],  # no successful call: no latency figure
        system.BUDGETS["error_budget"]: [_point({}, 0.01)],
        system.BUDGETS["latency_budget"]: [_point({}, 0.05)],
    }
    alerts = [{"labels": {"alertname": "LLMErrorBudgetFastBurn", "severity": "critical", **pair}, "annotations": {},
               "state": "firing", "activeAt": "2026-11-22T08:00:00Z", "value": "0.2"}]
    data = report.build_report(FakePrometheus([], alerts, instant), "15m", end=END)
    assert data["system"] == {
        "hosts": [{"instance": "host-a", "cpu_utilization": 0.42, "memory_utilization": 0.5, "load_1m": 1.25}],
        "processes": [{"service": "rag-app", "cpu_cores": 0.3, "memory_bytes": 200 * 2**20}],
        "gpus": [{"id": "GPU-5c7e", "name": "gpu0", "model": "NVIDIA A10G", "service": "rag-app", "utilization": 0.87,
                  "memory_used_bytes": 20 * 2**30, "memory_limit_bytes": 24 * 2**30}],
        "model_compute": [{"model": "llama", "cpu_seconds": 12.5, "gpu_seconds": 0.0}],
    }
    assert data["slo"] == {"error_budget": 0.01, "latency_budget": 0.05, "objectives": [
        {"service": "rag-app", "model": "gpt-4o", "availability_1h": 0.8, "error_burn_rate_1h": 20.0,
         "latency_burn_rate_1h": None, "burning": ["LLMErrorBudgetFastBurn"]}]}
    text = report.render_text(data)
    assert "host host-a: cpu 42.0%, memory 50.0%, load1 1.25" in text
    assert "gpu gpu0 NVIDIA A10G (GPU-5c7e): util 87.0%, memory 20.0/24.0 GiB" in text
    assert "rag-app / gpt-4o: availability 1h 80.0%, error burn 20.0x, latency burn -: LLMErrorBudgetFastBurn" in text


def test_system_section_says_what_is_missing() -> None:
    data = report.build_report(FakePrometheus([]), "15m", end=END)
    text = report.render_text(data)
    assert "no system.* metrics" in text and "gpu: none reported" in text and "no SLO series yet" in text
