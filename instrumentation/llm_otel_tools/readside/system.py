"""The host/GPU and SLO parts of ``llm-otel report``: instant values read from Prometheus at the report's end.

JSON (under ``"system"`` and ``"slo"`` of the report)::

    "system": {
      "hosts":     [{"instance", "cpu_utilization", "memory_utilization", "load_1m"}],  # Collector hostmetrics
      "processes": [{"service", "cpu_cores", "memory_bytes"}],                          # app process.* metrics
      "gpus":      [{"id", "name", "model", "service", "utilization", "memory_used_bytes", "memory_limit_bytes"}],
      "model_compute": [{"model", "cpu_seconds", "gpu_seconds"}]                        # llm_otel.model.*.time, window
    }
    "slo": {
      "error_budget": float or null, "latency_budget": float or null,
      "objectives": [{"service", "model", "availability_1h", "error_burn_rate_1h", "latency_burn_rate_1h",
                      "burning": [alert names firing for this service and model]}]
    }

Utilizations are 0..1; a burn rate of 1 spends the 30-day budget exactly in 30 days (rules: llm-slo.yml).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

HOST_QUERIES = {
    "cpu_utilization": '1 - avg by (instance) (system_cpu_utilization_ratio{state="idle"})',
    "memory_utilization": 'sum by (instance) (system_memory_utilization_ratio{state="used"})',
    "load_1m": "max by (instance) (system_cpu_load_average_1m)",
}
PROCESS_QUERIES = {
    "cpu_cores": "sum by (job) (rate(process_cpu_time_seconds_total{SEL}[1m]))",
    "memory_bytes": "sum by (job) (process_memory_usage_bytes{SEL})",
}
GPU_QUERIES = {
    "utilization": "max by (hw_id, hw_name, hw_model, job) (hw_gpu_utilization_ratio{SEL})",
    "memory_used_bytes": "max by (hw_id, hw_name, hw_model, job) (hw_gpu_memory_usage_bytes{SEL})",
    "memory_limit_bytes": "max by (hw_id, hw_name, hw_model, job) (hw_gpu_memory_limit_bytes{SEL})",
}
COMPUTE_QUERIES = {
    "cpu_seconds": "sum by (gen_ai_request_model) (increase(llm_otel_model_cpu_time_seconds_total{SEL}[WINDOW]))",
    "gpu_seconds": "sum by (gen_ai_request_model) (increase(llm_otel_model_gpu_time_seconds_total{SEL}[WINDOW]))",
}
SLO_QUERIES = {
    "availability_1h": "job_gen_ai_request_model:llm_otel_availability:ratio_rate1h{SEL}",
    "error_ratio_1h": "job_gen_ai_request_model:llm_otel_slo_errors:ratio_rate1h{SEL}",
    "slow_ratio_1h": "job_gen_ai_request_model:llm_otel_slo_slow_calls:ratio_rate1h{SEL}",
}
BUDGETS = {"error_budget": "llm_otel:slo_error_budget:ratio", "latency_budget": "llm_otel:slo_latency_budget:ratio"}
BURN_ALERTS = (
    "LLMErrorBudgetFastBurn",
    "LLMErrorBudgetSlowBurn",
    "LLMLatencyBudgetFastBurn",
    "LLMLatencyBudgetSlowBurn",
)


class _Prom(Protocol):
    def query(self, expr: str, at: float) -> list[dict[str, Any]]: ...


def _values(
    prom: _Prom, queries: Mapping[str, str], keys: tuple[str, ...], at: float, sel: str, window: str = ""
) -> dict:
    """{label values: {field: value}} over several queries that share their grouping labels."""
    rows: dict[tuple[str, ...], dict[str, float]] = {}
    for field, expr in queries.items():
        expr = expr.replace("{SEL}", "{" + sel + "}" if sel else "").replace("WINDOW", window)
        for series in prom.query(expr, at):
            value = float(series["value"][1])
            if math.isnan(value):  # no data behind a ratio
                continue
            key = tuple(series["metric"].get(k, "") for k in keys)
            rows.setdefault(key, {})[field] = value
    return rows


def system_section(prom: _Prom, at: float, service_matcher: str, window: str) -> dict[str, Any]:
    hosts = _values(prom, HOST_QUERIES, ("instance",), at, "")
    procs = _values(prom, PROCESS_QUERIES, ("job",), at, service_matcher)
    gpus = _values(prom, GPU_QUERIES, ("hw_id", "hw_name", "hw_model", "job"), at, service_matcher)
    compute = _values(prom, COMPUTE_QUERIES, ("gen_ai_request_model",), at, service_matcher, window)
    return {
        "hosts": [{"instance": k[0], **{f: _r(v.get(f)) for f in HOST_QUERIES}} for k, v in sorted(hosts.items())],
        "processes": [
            {"service": k[0], **{f: _r(v.get(f)) for f in PROCESS_QUERIES}} for k, v in sorted(procs.items())
        ],
        "gpus": [
            {"id": k[0], "name": k[1], "model": k[2], "service": k[3], **{f: _r(v.get(f)) for f in GPU_QUERIES}}
            for k, v in sorted(gpus.items())
        ],
        "model_compute": [
            {"model": k[0], **{f: _r(v.get(f, 0.0)) for f in COMPUTE_QUERIES}} for k, v in sorted(compute.items())
        ],
    }


def slo_section(prom: _Prom, at: float, service_matcher: str, alerts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    budgets = {name: next((float(s["value"][1]) for s in prom.query(expr, at)), None) for name, expr in BUDGETS.items()}
    rows = _values(prom, SLO_QUERIES, ("job", "gen_ai_request_model"), at, service_matcher)
    burning: dict[tuple[str, str], list[str]] = {}
    for alert in alerts:
        labels = alert.get("labels", {})
        if alert.get("name") in BURN_ALERTS:
            burning.setdefault((labels.get("job", ""), labels.get("gen_ai_request_model", "")), []).append(
                alert["name"]
            )

    def burn(ratio: float | None, budget: float | None) -> float | None:
        return None if ratio is None or not budget else _r(ratio / budget)

    objectives = [
        {
            "service": job,
            "model": model,
            "availability_1h": _r(v.get("availability_1h")),
            "error_burn_rate_1h": burn(v.get("error_ratio_1h"), budgets["error_budget"]),
            "latency_burn_rate_1h": burn(v.get("slow_ratio_1h"), budgets["latency_budget"]),
            "burning": sorted(burning.get((job, model), [])),
        }
        for (job, model), v in sorted(rows.items())
    ]
    return {**budgets, "objectives": objectives}


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def render_lines(system: Mapping[str, Any], slo: Mapping[str, Any]) -> list[str]:
    """A few plain lines for the text and rich outputs."""
    lines = [
        f"host {h['instance']}: cpu {_pct(h['cpu_utilization'])}, memory {_pct(h['memory_utilization'])}, "
        f"load1 {_num(h['load_1m'])}"
        for h in system["hosts"]
    ]
    if not system["hosts"]:
        lines.append("host: no system.* metrics (is the Collector's hostmetrics receiver on?)")
    for p in system["processes"]:
        mem = "-" if p["memory_bytes"] is None else f"{p['memory_bytes'] / 2**20:.0f} MiB"
        lines.append(f"process {p['service']}: cpu {_num(p['cpu_cores'])} cores, memory {mem}")
    for g in system["gpus"]:
        used, limit = g["memory_used_bytes"], g["memory_limit_bytes"]
        mem = "-" if used is None or limit is None else f"{used / 2**30:.1f}/{limit / 2**30:.1f} GiB"
        lines.append(f"gpu {g['name']} {g['model']} ({g['id']}): util {_pct(g['utilization'])}, memory {mem}")
    if not system["gpus"]:
        lines.append("gpu: none reported")
    lines += [
        f"model {c['model']}: {_num(c['cpu_seconds'], '{:.1f}')} CPU-s, {_num(c['gpu_seconds'], '{:.1f}')} GPU-s"
        for c in system["model_compute"]
    ]
    budgets = f"error budget {_pct(slo['error_budget'])}, latency budget {_pct(slo['latency_budget'])}"
    lines.append(f"SLOs ({budgets}; burn 1 = budget lasts 30 days):")
    for o in slo["objectives"]:
        state = ", ".join(o["burning"]) if o["burning"] else "ok"
        lines.append(
            f"  {o['service']} / {o['model'] or '(none)'}: availability 1h {_pct(o['availability_1h'])}, "
            f"error burn {_num(o['error_burn_rate_1h'], '{:.1f}x')}, "
            f"latency burn {_num(o['latency_burn_rate_1h'], '{:.1f}x')}: {state}"
        )
    if not slo["objectives"]:
        lines.append("  no SLO series yet")
    return lines
