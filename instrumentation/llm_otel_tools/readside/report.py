"""``llm-otel report``: per-model summary of LLM calls, read from Prometheus.

    llm-otel report [--window 15m] [--json] [--prometheus URL] [--service S]

Per ``gen_ai_request_model``: calls, errors and error ratio, operation latency and time to first chunk
(p50/p95/p99), input/output tokens, cost in USD, quality rates (refusal, hedging: every evaluator
that reports ``detected``/``not_detected``; rate = detected / (detected + not_detected)), average
response length; for all models together the same plus the user feedback average; and the alerts
Prometheus currently has firing. ``--service``
keeps the series of one service (the ``job`` label the Collector's exporter sets from
``service.name``, with or without a ``service.namespace/`` prefix). Prometheus URL: ``--prometheus``,
else the running local stack (``llm-otel stack up``), else ``$LLM_OTEL_PROMETHEUS_URL``, else
``http://127.0.0.1:9090``.

How counts are exact
--------------------
``increase(x[15m])`` extrapolates to the window edges and ignores a series' first sample, so it
returns 6.83 calls for 7 and nothing at all for a series that appeared inside the window with one
sample. Instead, for every counter (the ``_count``/``_sum``/``_bucket`` series of histograms and the
``_total`` counters), per series:

    increase = value at window end - value at window start

* value at window end   = ``last_over_time(x[W])`` at the end (the series' last sample in the window;
  a series without samples in the window contributed nothing);
* value at window start = ``last_over_time(x[1h])`` at the start: the cumulative value already
  counted before the window (1h rather than the 5m lookback, so a series that paused still has its
  baseline). A series with no sample before the window started inside it: its baseline is 0, which
  is exact for OpenTelemetry cumulative counters (they start at 0 when the series is created);
* counter resets: when ``resets(x[W])`` is non-zero or the end value is below the baseline, the raw
  samples of the window are fetched and walked: each rise adds its difference, each drop (a
  restart) adds the new value, as Prometheus does.

Sums per model/type are then taken in Python over these per-series differences, so calls, errors,
tokens and cost are the exact differences of the raw counters (integers for counts). Quantiles use
the same exact bucket increases with Prometheus' ``histogram_quantile`` interpolation. Error calls are
the ``_count`` series of ``gen_ai_client_operation_duration_seconds`` with a non-empty ``error_type``.

JSON (``--json``), stable keys
-----------------------------
::

    {
      "window": "15m", "window_seconds": 900.0, "start": RFC3339, "end": RFC3339,
      "prometheus": URL, "service": S or null, "method": "counter-delta",
      "models": {MODEL: STATS, ...},                 # gen_ai_request_model ("(none)" if unset)
      "totals": STATS + {"feedback": {"count": int, "sum": float, "average": float or null}},
      "alerts": [{"name", "state", "severity", "labels", "annotations", "active_at", "value"}],
      "system": {"hosts", "processes", "gpus", "model_compute"},   # see readside/system.py
      "slo": {"error_budget", "latency_budget", "objectives"}      # see readside/system.py
    }
    STATS = {
      "calls": int, "errors": int, "error_ratio": float or null,
      "latency_seconds": {"p50", "p95", "p99"},               # float or null each
      "time_to_first_chunk_seconds": {"p50", "p95", "p99"},
      "tokens": {"input": int, "output": int, ...},           # by gen_ai_token_type
      "cost_usd": float,
      "quality": {EVALUATOR: {"detected": int, "evaluated": int, "rate": float or null}},
      "response_length_avg": float or null                    # characters
    }

A model is listed when any of its counters rose in the window. Exit codes: 0 ok, 1 Prometheus
unreachable or failing, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from llm_otel import _semconv as sc

from llm_otel_tools.readside._http import BackendError, default_url, get_json
from llm_otel_tools.readside._otlp import prom_label, prom_metric
from llm_otel_tools.readside.system import render_lines, slo_section, system_section

__all__ = [
    "Prometheus",
    "bucket_quantile",
    "build_report",
    "exact_increase",
    "main",
    "parse_duration",
    "render_text",
]

MODEL = prom_label(sc.GEN_AI_REQUEST_MODEL)
NO_MODEL = "(none)"
QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
BASELINE_LOOKBACK = "1h"

DURATION = prom_metric(sc.METRIC_OPERATION_DURATION)
TTFC = prom_metric(sc.METRIC_TIME_TO_FIRST_CHUNK)
TOKENS = prom_metric(sc.METRIC_TOKEN_USAGE) + "_sum"
COST = prom_metric(sc.METRIC_COST)
EVALUATIONS = prom_metric(sc.METRIC_EVALUATION_RESULTS)
RESPONSE_LENGTH = prom_metric(sc.METRIC_RESPONSE_LENGTH)
FEEDBACK = prom_metric(sc.METRIC_FEEDBACK_SCORE)

_DURATION_RE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

Labels = dict[str, str]
Increase = list[tuple[Labels, float]]


def parse_duration(text: str) -> float:
    """A Prometheus duration (``15m``, ``1h30m``, ``90s``, ``2500ms``) in seconds."""
    if not _DURATION_RE.match(text or ""):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h, 1h30m, 1d)")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"the window must be longer than 0: {text!r}")
    return float(seconds)


def _promql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _regex_escape(value: str) -> str:
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", value)


def service_matcher(service: str | None) -> str:
    """The label matcher for ``--service``: job = ``S`` or ``<namespace>/S``."""
    if not service:
        return ""
    return "job=~" + _promql_string(f"(?:.+/)?{_regex_escape(service)}")


def _selector(metric: str, *matchers: str) -> str:
    inner = ",".join(m for m in matchers if m)
    return f"{metric}{{{inner}}}" if inner else metric


class Prometheus:
    """The few calls of the HTTP API the report needs."""

    def __init__(self, url: str, timeout: float = 15.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        data = get_json(self.url, "/api/v1/query", {"query": expr, "time": f"{at:.3f}"},
                        backend="prometheus", timeout=self.timeout)
        if data.get("status") != "success":
            raise BackendError(f"Prometheus at {self.url} rejected {expr!r}: {data.get('error')}")
        return data["data"]["result"]

    def alerts(self) -> list[dict[str, Any]]:
        data = get_json(self.url, "/api/v1/alerts", backend="prometheus", timeout=self.timeout)
        return data.get("data", {}).get("alerts", [])


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def _walk(baseline: float, values: Iterable[float]) -> float:
    """Counter increase over consecutive samples starting from `baseline`; a drop is a reset to 0."""
    total, previous = 0.0, baseline
    for value in values:
        total += value - previous if value >= previous else value
        previous = value
    return total


def exact_increase(prom: Prometheus, selector: str, start: float, end: float) -> Increase:
    """Per series: exact counter increase in (start, end]. See the module docstring for the method."""
    window = f"{max(1, round((end - start) * 1000))}ms"
    last = prom.query(f"last_over_time({selector}[{window}])", end)
    if not last:
        return []
    base = {_key(s["metric"]): float(s["value"][1]) for s in prom.query(f"last_over_time({selector}[{BASELINE_LOOKBACK}])", start)}
    resets = {_key(s["metric"]): float(s["value"][1]) for s in prom.query(f"resets({selector}[{window}])", end)}
    out: Increase = []
    walk_needed: dict[tuple[tuple[str, str], ...], Labels] = {}
    for series in last:
        key = _key(series["metric"])
        value, baseline = float(series["value"][1]), base.get(key, 0.0)
        if resets.get(key, 0.0) > 0 or value < baseline:
            walk_needed[key] = series["metric"]
            continue
        out.append((dict(key), value - baseline))
    if walk_needed:
        for series in prom.query(f"{selector}[{window}]", end):
            key = _key(series["metric"])
            if key in walk_needed:
                values = [float(v) for _, v in series.get("values", [])]
                out.append((dict(key), _walk(base.get(key, 0.0), values)))
    return out


def bucket_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile on (upper bound, cumulative count) pairs; None without data."""
    merged: dict[float, float] = defaultdict(float)
    for upper, count in buckets:
        merged[upper] += count
    ordered = sorted(merged.items())
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return None
    fixed, high = [], 0.0
    for upper, count in ordered:  # ensure monotonic, as Prometheus does
        high = max(high, count)
        fixed.append((upper, high))
    observations = fixed[-1][1]
    if observations <= 0:
        return None
    rank = q * observations
    b = next(i for i, (_, count) in enumerate(fixed) if count >= rank)
    if b == len(fixed) - 1:
        return fixed[-2][0]
    if b == 0 and fixed[0][0] <= 0:
        return fixed[0][0]
    bucket_start, bucket_end, count = 0.0, fixed[b][0], fixed[b][1]
    if b > 0:
        bucket_start = fixed[b - 1][0]
        count -= fixed[b - 1][1]
        rank -= fixed[b - 1][1]
    return bucket_start + (bucket_end - bucket_start) * (rank / count)


def _quantiles(buckets: Iterable[tuple[float, float]]) -> dict[str, float | None]:
    pairs = list(buckets)
    return {name: _round(bucket_quantile(q, pairs), 6) for name, q in QUANTILES.items()}


def _round(value: float | None, digits: int) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


def _count(value: float) -> int:
    return int(round(value))


def _ratio(num: float, den: float, digits: int = 6) -> float | None:
    return round(num / den, digits) if den > 0 else None


def _model(labels: Mapping[str, str]) -> str:
    return labels.get(MODEL) or NO_MODEL


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stats(
    calls: float,
    errors: float,
    latency: Iterable[tuple[float, float]],
    ttfc: Iterable[tuple[float, float]],
    tokens: Mapping[str, float],
    cost: float,
    quality: Mapping[str, Mapping[str, float]],
    length_sum: float,
    length_count: float,
) -> dict[str, Any]:
    token_counts = {"input": 0, "output": 0}
    token_counts.update({kind: _count(v) for kind, v in sorted(tokens.items())})
    return {
        "calls": _count(calls),
        "errors": _count(errors),
        "error_ratio": _ratio(errors, calls),
        "latency_seconds": _quantiles(latency),
        "time_to_first_chunk_seconds": _quantiles(ttfc),
        "tokens": token_counts,
        "cost_usd": round(cost, 10),
        "quality": {
            name: {
                "detected": _count(labels.get("detected", 0.0)),
                "evaluated": _count(labels.get("detected", 0.0) + labels.get("not_detected", 0.0)),
                "rate": _ratio(labels.get("detected", 0.0), labels.get("detected", 0.0) + labels.get("not_detected", 0.0)),
            }
            for name, labels in sorted(quality.items())
            if {"detected", "not_detected"} & set(labels)  # detectors only; scored evaluators have no rate
        },
        "response_length_avg": _ratio(length_sum, length_count, 2),
    }


def build_report(
    prometheus: str | Prometheus,
    window: str = "15m",
    service: str | None = None,
    end: float | None = None,
    alerts: bool = True,
) -> dict[str, Any]:
    """The report as the ``--json`` dict (see the module docstring)."""
    prom = prometheus if isinstance(prometheus, Prometheus) else Prometheus(prometheus)
    seconds = parse_duration(window)
    end = time.time() if end is None else end
    start = end - seconds
    svc = service_matcher(service)
    model_calls = f'{prom_label(sc.GEN_AI_OPERATION_NAME)}!="{sc.OP_RETRIEVAL}"'  # retrievals share the instrument
    selectors = {
        "calls": _selector(f"{DURATION}_count", svc, model_calls),
        "latency": _selector(f"{DURATION}_bucket", svc, model_calls),
        "ttfc": _selector(f"{TTFC}_bucket", svc),
        "tokens": _selector(TOKENS, svc),
        "cost": _selector(COST, svc),
        "quality": _selector(EVALUATIONS, svc),
        "length_sum": _selector(f"{RESPONSE_LENGTH}_sum", svc),
        "length_count": _selector(f"{RESPONSE_LENGTH}_count", svc),
        "feedback_sum": _selector(f"{FEEDBACK}_sum", svc),
        "feedback_count": _selector(f"{FEEDBACK}_count", svc),
    }
    jobs: dict[str, Callable[[], Any]] = {
        name: (lambda sel=sel: exact_increase(prom, sel, start, end)) for name, sel in selectors.items()
    }
    if alerts:
        jobs["alerts"] = prom.alerts
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(fn) for name, fn in jobs.items()}
        data = {name: future.result() for name, future in futures.items()}

    per: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "calls": 0.0, "errors": 0.0, "latency": defaultdict(float), "ttfc": defaultdict(float),
        "tokens": defaultdict(float), "cost": 0.0, "quality": defaultdict(lambda: defaultdict(float)),
        "length_sum": 0.0, "length_count": 0.0, "active": False,
    })
    for labels, inc in data["calls"]:
        m = per[_model(labels)]
        m["calls"] += inc
        if labels.get(prom_label(sc.ERROR_TYPE)):
            m["errors"] += inc
        m["active"] |= inc > 0
    for kind in ("latency", "ttfc"):
        for labels, inc in data[kind]:
            if "le" in labels:
                per[_model(labels)][kind][float(labels["le"])] += inc
    for labels, inc in data["tokens"]:
        m = per[_model(labels)]
        m["tokens"][labels.get(prom_label(sc.GEN_AI_TOKEN_TYPE), "unknown")] += inc
        m["active"] |= inc > 0
    for labels, inc in data["cost"]:
        m = per[_model(labels)]
        m["cost"] += inc
        m["active"] |= inc > 0
    for labels, inc in data["quality"]:
        name = labels.get(prom_label(sc.GEN_AI_EVALUATION_NAME))
        if name:
            m = per[_model(labels)]
            m["quality"][name][labels.get(prom_label(sc.GEN_AI_EVALUATION_SCORE_LABEL), "")] += inc
            m["active"] |= inc > 0
    for field in ("length_sum", "length_count"):
        for labels, inc in data[field]:
            m = per[_model(labels)]
            m[field] += inc
            m["active"] |= inc > 0

    def stats(m: Mapping[str, Any]) -> dict[str, Any]:
        return _stats(m["calls"], m["errors"], m["latency"].items(), m["ttfc"].items(), m["tokens"],
                      m["cost"], m["quality"], m["length_sum"], m["length_count"])

    models = {name: stats(m) for name, m in sorted(per.items()) if m["active"]}

    total: dict[str, Any] = {
        "calls": 0.0, "errors": 0.0, "latency": defaultdict(float), "ttfc": defaultdict(float),
        "tokens": defaultdict(float), "cost": 0.0, "quality": defaultdict(lambda: defaultdict(float)),
        "length_sum": 0.0, "length_count": 0.0,
    }
    for m in per.values():
        for field in ("calls", "errors", "cost", "length_sum", "length_count"):
            total[field] += m[field]
        for field in ("latency", "ttfc", "tokens"):
            for k, v in m[field].items():
                total[field][k] += v
        for name, labels in m["quality"].items():
            for label, v in labels.items():
                total["quality"][name][label] += v
    totals = stats(total)
    fb_sum = sum(inc for _, inc in data["feedback_sum"])
    fb_count = sum(inc for _, inc in data["feedback_count"])
    totals["feedback"] = {"count": _count(fb_count), "sum": round(fb_sum, 6), "average": _ratio(fb_sum, fb_count, 4)}
    firing = _firing(data.get("alerts", []))

    return {
        "window": window,
        "window_seconds": seconds,
        "start": _iso(start),
        "end": _iso(end),
        "prometheus": prom.url,
        "service": service,
        "method": "counter-delta",
        "models": models,
        "totals": totals,
        "alerts": firing,
        "system": system_section(prom, end, svc, window),
        "slo": slo_section(prom, end, svc, firing),
    }


def _firing(alerts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for alert in alerts:
        if alert.get("state") != "firing":
            continue
        labels = dict(alert.get("labels", {}))
        out.append({
            "name": labels.get("alertname", ""),
            "state": "firing",
            "severity": labels.get("severity"),
            "labels": labels,
            "annotations": dict(alert.get("annotations", {})),
            "active_at": alert.get("activeAt"),
            "value": alert.get("value"),
        })
    return sorted(out, key=lambda a: (a["name"], json.dumps(a["labels"], sort_keys=True)))


# ------------------------------------------------------------------------------ rendering
COLUMNS = ("model", "calls", "errors", "err %", "p50", "p95", "p99", "ttfc p95",
           "tokens in", "tokens out", "cost $", "refusal", "hedging", "avg len")


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 0.01:
        return f"{value * 1000:.1f}ms"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def _fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _row(name: str, s: Mapping[str, Any]) -> list[str]:
    quality = s["quality"]
    return [
        name,
        str(s["calls"]),
        str(s["errors"]),
        _fmt_pct(s["error_ratio"]),
        *(_fmt_seconds(s["latency_seconds"][q]) for q in ("p50", "p95", "p99")),
        _fmt_seconds(s["time_to_first_chunk_seconds"]["p95"]),
        str(s["tokens"].get("input", 0)),
        str(s["tokens"].get("output", 0)),
        f"{s['cost_usd']:.6f}",
        _fmt_pct(quality.get("refusal", {}).get("rate")),
        _fmt_pct(quality.get("hedging", {}).get("rate")),
        "-" if s["response_length_avg"] is None else f"{s['response_length_avg']:.0f}",
    ]


def _title(report: Mapping[str, Any]) -> str:
    service = f", service {report['service']}" if report.get("service") else ""
    return f"LLM calls, last {report['window']} ({report['start']} .. {report['end']}){service}"


def _footer(report: Mapping[str, Any]) -> list[str]:
    fb = report["totals"]["feedback"]
    average = "-" if fb["average"] is None else f"{fb['average']:.2f}"
    lines = [f"user feedback: {average} average over {fb['count']} scores"]
    if report["alerts"]:
        lines.append(f"firing alerts ({len(report['alerts'])}):")
        for alert in report["alerts"]:
            extra = {k: v for k, v in alert["labels"].items() if k not in ("alertname", "severity")}
            where = ", ".join(f"{k}={v}" for k, v in sorted(extra.items()))
            summary = alert["annotations"].get("summary", "")
            lines.append(f"  [{alert['severity'] or '-'}] {alert['name']} {where} {summary}".rstrip())
    else:
        lines.append("firing alerts: none")
    if "system" in report:
        lines += render_lines(report["system"], report["slo"])
    return lines


def render_text(report: Mapping[str, Any]) -> str:
    """Plain-text table (used when rich is not installed, and by tests)."""
    rows = [list(COLUMNS)] + [_row(n, s) for n, s in report["models"].items()] + [_row("TOTAL", report["totals"])]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [_title(report)]
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths, strict=False))).rstrip())
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines + _footer(report))


def _print_rich(report: Mapping[str, Any]) -> bool:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        return False
    table = Table(title=_title(report), show_footer=False)
    for i, name in enumerate(COLUMNS):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=True)
    for name, s in report["models"].items():
        row = _row(name, s)
        style = "red" if s["errors"] else None
        table.add_row(*row, style=style)
    table.add_section()
    table.add_row(*_row("TOTAL", report["totals"]), style="bold")
    console = Console()
    if not console.is_terminal:  # piped: do not squeeze the table into 80 columns
        console = Console(width=max(console.width, 200))
    console.print(table)
    for line in _footer(report):
        console.print(line, markup=False, highlight=False)
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-otel report", description="Per-model summary of LLM calls from Prometheus.")
    parser.add_argument("--window", default="15m", help="how far back, a Prometheus duration (default 15m)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (keys: see the module docstring)")
    parser.add_argument("--prometheus", help="Prometheus base URL (default: local stack, $LLM_OTEL_PROMETHEUS_URL, http://127.0.0.1:9090)")
    parser.add_argument("--service", help="only this service (service.name, the job label)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        parse_duration(args.window)
    except ValueError as exc:
        parser.error(str(exc))
    url = (args.prometheus or default_url("prometheus")).rstrip("/")
    try:
        report = build_report(url, args.window, args.service)
    except BackendError as exc:
        print(f"llm-otel report: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=False))
    elif not _print_rich(report):
        print(render_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
