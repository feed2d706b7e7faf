"""End to end: LLM-shaped traces through 2 agents -> 3 gateways -> Jaeger, against the single Collector.

One stack runs both: the single Collector (otel-collector-config.yaml) and the two tiers (collector/agent.yaml,
collector/gateway.yaml), the same Jaeger. The same seeded traces go to each, under two service names; the
baseline sampling is 30 % so tail sampling really drops traces. Each trace is split between the agents (its
children to agent-1, its root to agent-2), so only trace-id routing can bring it together on one gateway.
Run time: ~1-2 min on a quiet 2-core machine (stack start-up dominates).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from llm_otel_tools.stack import Stack, StackError
from llm_otel_tools.stack._loadgen import SPANS_PER_TRACE, encode_requests, send_at_rate, trace_shapes
from llm_otel_tools.stack._topology import TwoTier

from tests.support import poll

pytestmark = pytest.mark.stack

SAMPLING_ENV = {"LLM_OTEL_SAMPLING_PERCENTAGE": "30"}
SINGLE, TIERED = "scale-single", "scale-tiered"


# A trace split across the agents reaches its gateway in two halves; after an outage each agent retries on
# its own backoff, so the halves can arrive up to one retry interval apart. The sampler must wait longer than
# that (decision_wait > retry max_interval) or it decides on half a trace: the documented rule in README.
TIER_ENV = {"LLM_OTEL_LB_RETRY_MAX_ELAPSED": "120s", "LLM_OTEL_RETRY_MAX_INTERVAL": "1s",
            "LLM_OTEL_SAMPLING_DECISION_WAIT": "4s"}


@pytest.fixture(scope="module")
def tiers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoTier]:
    saved = {k: os.environ.get(k) for k in SAMPLING_ENV}
    os.environ.update(SAMPLING_ENV)  # the single Collector reads it from the stack's environment
    topology = TwoTier(Stack(tmp_path_factory.mktemp("two-tier")))
    try:
        topology.up(gateways=3, agents=2, free_ports=True, fast=True, env=TIER_ENV)
    except StackError as exc:
        topology.stack.down()
        pytest.fail(f"cannot start the two-tier pipeline: {exc}", pytrace=False)
    try:
        yield topology
    finally:
        topology.stack.down()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def spans_by_service(jaeger: str, trace_id: str) -> dict[str, int]:
    try:
        with urllib.request.urlopen(f"{jaeger}/api/v3/traces/{trace_id}", timeout=10) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return {}
        raise
    counts: dict[str, int] = {}
    for rs in data.get("result", {}).get("resourceSpans", []):
        service = next((a["value"].get("stringValue") for a in rs.get("resource", {}).get("attributes", [])
                        if a["key"] == "service.name"), None)
        n = sum(len(ss.get("spans", [])) for ss in rs.get("scopeSpans", []))
        counts[str(service)] = counts.get(str(service), 0) + n
    return counts


def settled_view(jaeger: str, trace_ids: list[str], *, quiet: float = 6.0, timeout: float = 120.0) -> dict[str, dict[str, int]]:
    """Spans per service of every trace, once two reads `quiet` seconds apart agree (sampling decided, exported)."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict[str, int]] | None = None
    while time.monotonic() < deadline:
        view = {tid: spans_by_service(jaeger, tid) for tid in trace_ids}
        if view == last and any(view.values()):
            return view
        last = view
        time.sleep(quiet)
    pytest.fail(f"Jaeger did not settle within {timeout:.0f}s")


def send(tiers: TwoTier, seed: int, count: int) -> list[str]:
    """The same seeded traces to the single Collector (whole) and to the agents (split between them)."""
    shapes = trace_shapes(seed, count)
    single = tiers.stack.endpoints().otlp_http
    agent1, agent2 = (a.url("otlp_http") for a in tiers.agents())
    for endpoint, bodies in (
        (single, encode_requests(shapes, service=SINGLE)),
        (agent1, encode_requests(shapes, service=TIERED, spans=range(SPANS_PER_TRACE - 1))),
        (agent2, encode_requests(shapes, service=TIERED, spans=[SPANS_PER_TRACE - 1])),
    ):
        result = send_at_rate(endpoint, bodies, requests_per_s=0, workers=2)
        assert result.failed_requests == 0, result.statuses
    return [s.trace_id_hex for s in shapes]


def assert_same_complete_traces(view: dict[str, dict[str, Any]], count: int) -> set[str]:
    kept_single = {tid for tid, c in view.items() if c.get(SINGLE)}
    kept_tiered = {tid for tid, c in view.items() if c.get(TIERED)}
    incomplete = {tid: c for tid, c in view.items() if any(n != SPANS_PER_TRACE for n in c.values())}
    assert not incomplete, f"traces not complete in Jaeger (spans per service, {SPANS_PER_TRACE} sent): {incomplete}"
    assert kept_tiered == kept_single, (
        f"tail sampling differs: only single {sorted(kept_single - kept_tiered)[:5]}, only tiered {sorted(kept_tiered - kept_single)[:5]}")
    assert 0 < len(kept_single) < count, f"sampling kept {len(kept_single)} of {count}: the test needs some dropped"
    return kept_single


def test_every_trace_is_whole_and_sampled_like_the_single_collector(tiers: TwoTier) -> None:
    count = 300
    trace_ids = send(tiers, seed=15, count=count)
    view = settled_view(tiers.stack.endpoints().jaeger_query, trace_ids)
    kept = assert_same_complete_traces(view, count)
    errors = {s.trace_id_hex for s in trace_shapes(15, count) if s.error}
    assert errors <= kept, "the errors policy keeps every failed trace in both pipelines"
    per_gateway = [collector_metric(g.url("metrics"), "otelcol_receiver_accepted_spans") for g in tiers.gateways()]
    assert sum(per_gateway) == count * SPANS_PER_TRACE and all(n > 0 for n in per_gateway), per_gateway


def test_a_gateway_down_and_back_loses_nothing_within_the_queue_limits(tiers: TwoTier) -> None:
    gateway = tiers.gateways()[1]
    before = collector_metric(gateway.url("metrics"), "otelcol_receiver_accepted_spans")
    assert tiers.stop(gateway.name)
    count = 200
    trace_ids = send(tiers, seed=16, count=count)  # the agents queue and retry this gateway's share
    time.sleep(3)
    tiers.start(gateway.name)
    view = settled_view(tiers.stack.endpoints().jaeger_query, trace_ids)
    assert_same_complete_traces(view, count)
    after_restart = collector_metric(gateway.url("metrics"), "otelcol_receiver_accepted_spans")
    assert after_restart > 0, f"the restarted gateway got none of its share (before the stop it had {before})"
    failed = sum(collector_metric(a.url("metrics"), "otelcol_exporter_send_failed_spans") for a in tiers.agents())
    assert failed == 0


def collector_metric(base: str, name: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + "{", name + " ")))


def test_prometheus_scrapes_every_tier_and_the_agents_count_every_span(tiers: TwoTier) -> None:
    prometheus = tiers.stack.endpoints().prometheus

    def query(promql: str) -> list[dict[str, Any]]:
        url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as resp:
            result: list[dict[str, Any]] = json.loads(resp.read())["data"]["result"]
        return result

    up = poll(lambda: len(r := query('up{job="llm-otel-tiers"} == 1')) == 7 and r, timeout=60,
              what="7 tier targets up (2 agents x 2 endpoints, 3 gateways)")
    assert len(up) == 7
    # span_metrics on the agents count every span before sampling: 500 traces (both tests above) x 5 spans.
    calls = poll(lambda: (r := query(f'sum(traces_span_metrics_calls_total{{service_name="{TIERED}"}})'))
                 and float(r[0]["value"][1]) == 500 * SPANS_PER_TRACE and r, timeout=60, what="span_metrics of 2500 spans")
    assert float(calls[0]["value"][1]) == 2500
