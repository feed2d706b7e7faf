"""grafana/dashboards/llm-overview.json: valid JSON, provisioned datasource uids, panels present,
exemplars on latency, and every PromQL expression accepted by promtool (as recording rules)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "grafana" / "dashboards" / "llm-overview.json"
DATASOURCES = REPO / "grafana" / "provisioning" / "datasources"
RULES = REPO / "prometheus" / "rules"

# Grafana variables -> values that keep the PromQL valid for promtool.
TEMPLATE_VARS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "${service}": ".*",
    "$service": ".*",
    "${model}": ".*",
    "$model": ".*",
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def provisioned() -> dict[str, str]:
    """uid -> type of every provisioned datasource (the YAML is flat enough for a line scan)."""
    out: dict[str, str] = {}
    for path in sorted(DATASOURCES.glob("*.y*ml")):
        for block in re.split(r"\n\s*- name:", path.read_text()):
            uid = re.search(r"^\s*uid:\s*(\S+)", block, re.M)
            kind = re.search(r"^\s*type:\s*(\S+)", block, re.M)
            if uid and kind:
                out[uid.group(1).strip("\"'")] = kind.group(1).strip("\"'")
    return out


def walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(dashboard) for t in p.get("targets", []) if "expr" in t]


def test_shape(dashboard: dict[str, Any]) -> None:
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    titles = " | ".join(p["title"].lower() for p in panels(dashboard))
    for needed in ("calls/s", "error ratio", "p50 / p95 / p99", "time to first chunk p95", "tokens/s",
                   "cost per hour", "quality rates", "drift", "feedback", "firing alerts",
                   "host cpu and memory", "app processes", "gpu utilization", "gpu memory", "slo burn rate"):
        assert needed in titles, needed
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0


def test_datasources_are_provisioned(dashboard: dict[str, Any]) -> None:
    known = provisioned()
    assert {"prometheus", "jaeger"} <= set(known), known
    refs = [n["datasource"] for n in walk(dashboard) if isinstance(n.get("datasource"), dict)]
    assert refs
    for ref in refs:
        if ref.get("type") == "grafana":
            continue
        assert ref["uid"] in known, ref
        assert known[ref["uid"]] == ref["type"], ref
    assert any(r["uid"] == "jaeger" for r in refs)


def test_latency_targets_have_exemplars(dashboard: dict[str, Any]) -> None:
    latency = [p for p in panels(dashboard) if p["type"] != "row" and ("latency" in p["title"].lower() or "first chunk" in p["title"].lower())]
    assert len(latency) >= 2
    for panel in latency:
        raw = [t for t in panel["targets"] if "_bucket" in t["expr"]]
        assert raw and all(t.get("exemplar") is True for t in raw), panel["title"]
    # Grafana turns exemplars into Jaeger links through the datasource config
    text = next(DATASOURCES.glob("*.y*ml")).read_text()
    assert "exemplarTraceIdDestinations" in text and "datasourceUid: jaeger" in text


def test_recording_rules_used_exist(dashboard: dict[str, Any]) -> None:
    recorded = set()
    for path in RULES.glob("*.yml"):
        recorded |= set(re.findall(r"^\s*- record:\s*(\S+)", path.read_text(), re.M))
    used = {name for e in exprs(dashboard) for name in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", e)}
    assert used, "the dashboard should reuse the recording rules"
    assert used <= recorded, used - recorded


def test_every_expression_parses_with_promtool(dashboard: dict[str, Any], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (it ships promtool)"
    found = exprs(dashboard)
    assert len(found) >= 15
    lines = ["groups:", "  - name: dashboard-llm-overview", "    rules:"]
    for i, expr in enumerate(found):
        for var, value in TEMPLATE_VARS.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
        lines.append(f"      - record: dashboard:expr_{i}:check")
        lines.append(f"        expr: {json.dumps(expr)}")
    rules = tmp_path / "dashboard-rules.yml"
    rules.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(found)} rules found" in proc.stdout
