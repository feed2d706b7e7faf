"""End to end: ``llm-otel stack up --gateways 2 --agents 1 --kafka``, i.e. ``TwoTier.up(..., kafka=True)``.

The stack runner starts a KRaft broker (scale/kafka.sh) as an app of the stack, creates the topic with one partition
per gateway, runs the agent with collector/kafka-agent.yaml and the gateways with collector/kafka-gateway.yaml. A few
traces sent to the agent must reach Jaeger whole; ``stack down`` must stop the broker too.
Run time: ~1 min on a quiet 2-core machine (stack and broker start-up dominate).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from llm_otel_tools.stack import Stack, StackError
from llm_otel_tools.stack._loadgen import SPANS_PER_TRACE, encode_requests, send_at_rate, trace_shapes
from llm_otel_tools.stack._topology import TwoTier, _tcp_ok

from tests.scale.test_two_tier import settled_view
from tests.support import poll

pytestmark = pytest.mark.stack

TIER_ENV = {"LLM_OTEL_SAMPLING_PERCENTAGE": "100", "LLM_OTEL_SAMPLING_DECISION_WAIT": "2s"}


def test_kafka_flag_runs_the_broker_between_the_tiers_and_down_stops_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    topology = TwoTier(Stack(tmp_path))
    try:
        topology.up(gateways=2, agents=1, free_ports=True, fast=True, env=TIER_ENV, kafka=True)
    except StackError as exc:
        topology.stack.down()
        pytest.fail(f"cannot start the two-tier pipeline with Kafka: {exc}", pytrace=False)
    broker = topology.kafka()
    try:
        assert broker is not None and _tcp_ok(broker.ports["broker"])
        described = subprocess.run(
            ["bash", str(topology.stack.repo / "scale" / "kafka.sh"), "topic", str(broker.ports["broker"]),
             "llm-otel-spans", "2"], capture_output=True, text=True, check=False)
        assert described.returncode == 0, described.stderr
        shapes = trace_shapes(7, 20)
        result = send_at_rate(topology.agents()[0].url("otlp_http"), encode_requests(shapes, service="kafka-flag"),
                              requests_per_s=0, workers=2)
        assert result.failed_requests == 0, result.statuses
        view = settled_view(topology.stack.endpoints().jaeger_query, [s.trace_id_hex for s in shapes])
        counts = {tid: c.get("kafka-flag", 0) for tid, c in view.items()}
        assert all(n == SPANS_PER_TRACE for n in counts.values()), counts
    finally:
        stopped = topology.stack.down()
    assert "kafka" in stopped, stopped
    port = broker.ports["broker"]
    poll(lambda: not _tcp_ok(port), timeout=30, what="the broker port closed after stack down")


def test_cli_accepts_kafka_flag() -> None:
    out = subprocess.run([sys.executable, "-m", "llm_otel_tools.stack", "up", "--help"],
                         capture_output=True, text=True, check=False)
    assert "--kafka" in out.stdout, out.stdout + out.stderr
