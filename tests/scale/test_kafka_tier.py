"""Kafka between the tiers: 2 agents -> a real Kafka broker (KRaft) -> 2 gateways (one consumer group) -> Jaeger.

What a user relies on: with collector/kafka-agent.yaml and collector/kafka-gateway.yaml merged over the agent and
gateway configs, every span reaches Jaeger through Kafka, and every trace is decided by ONE gateway although its
spans were sent through two different agents at different times (records keyed by trace id, one partition per
trace, one consumer per partition). Each gateway tags the spans it passes (a transform processor added by the test
overlay, after tail sampling) so the test can see which sampler decided each trace.

Runs in about 2 minutes on the 2-core machine (the broker start is 20-40 s of it). Needs `make components`.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import llm_otel._semconv as sc
import pytest
import yaml
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from tests.scale.scale_procs import (
    REPO,
    Collector,
    Proc,
    base_config,
    create_topic,
    jaeger_trace,
    metric_sum,
    start_jaeger,
    start_kafka,
)
from tests.support import poll

pytestmark = pytest.mark.stack

TOPIC = "llm-otel-spans"
PARTITIONS = 3
TRACES = 30
SPANS_PER_TRACE = 5  # workflow > retrieval, chat, execute_tool, chat
TAG = "llm_otel.test.gateway"  # test-only attribute set by the test overlay's transform processor


def gateway_tag_overlay(base: Path, gateway: str) -> dict[str, Any]:
    """Appends a tagging transform to the gateway's traces pipeline and shortens the sampler's decision wait."""
    cfg = yaml.safe_load(base.read_text())
    processors = list(cfg["service"]["pipelines"]["traces"].get("processors") or [])
    samplers = [p for p in processors if p.split("/", 1)[0] == "tail_sampling"]
    assert samplers, f"{base} has no tail_sampling in its traces pipeline: {processors}"
    jaeger = [e for e in cfg["service"]["pipelines"]["traces"]["exporters"] if e.split("/", 1)[0].startswith("otlp")]
    assert len(jaeger) == 1, f"{base}: expected one otlp exporter (to Jaeger) in the traces pipeline"
    return {
        "processors": {
            **{s: {"decision_wait": "2s"} for s in samplers},
            "transform/scale_test_tag": {"trace_statements": [f'set(span.attributes["{TAG}"], "{gateway}")']},
        },
        "service": {"pipelines": {"traces": {"processors": [*processors, "transform/scale_test_tag"]}}},
        "_jaeger_exporter": jaeger[0],
    }


@pytest.fixture(scope="module")
def kafka_topology(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("kafka-tier")
    procs: list[Proc] = []
    try:
        broker, kafka_port = start_kafka(root / "kafka")
        procs.append(broker)
        create_topic(kafka_port, TOPIC, PARTITIONS)
        jaeger, jports = start_jaeger(root)
        procs.append(jaeger)
        env = {"LLM_OTEL_KAFKA_BROKERS": f"127.0.0.1:{kafka_port}", "LLM_OTEL_KAFKA_TOPIC": TOPIC,
               "LLM_OTEL_SAMPLING_PERCENTAGE": "100", "LLM_OTEL_BATCH_TIMEOUT": "200ms"}
        gateways = []
        for name in ("gw1", "gw2"):
            extra = gateway_tag_overlay(base_config("gateway"), name)
            exporter = extra.pop("_jaeger_exporter")
            extra["exporters"] = {exporter: {"endpoint": f"127.0.0.1:{jports['OTLP_GRPC']}"}}
            gw = Collector(name, base_config("gateway"), [REPO / "collector" / "kafka-gateway.yaml"], root / name,
                           {**env, "LLM_OTEL_KAFKA_CLIENT_ID": name}, extra)
            procs.append(gw)
            gateways.append(gw)
        agents = []
        for name in ("agent1", "agent2"):
            agent = Collector(name, base_config("agent"), [REPO / "collector" / "kafka-agent.yaml"], root / name,
                              {**env, "LLM_OTEL_KAFKA_CLIENT_ID": name})
            procs.append(agent)
            agents.append(agent)

        wait_group_settled(gateways)
        yield {"agents": agents, "gateways": gateways, "jaeger_query": jports["QUERY_HTTP"]}
    finally:
        for proc in reversed(procs):
            proc.stop()


def wait_group_settled(gateways: list[Collector]) -> None:
    """Until the gateways own all partitions between them, each at least one (their receivers' own metrics)."""
    def owned(gw: Collector) -> float:
        return (metric_sum(gw.metrics_port, "otelcol_kafka_receiver_partition_start")
                - metric_sum(gw.metrics_port, "otelcol_kafka_receiver_partition_close"))
    poll(lambda: [owned(g) for g in gateways] if all(owned(g) >= 1 for g in gateways)
         and sum(owned(g) for g in gateways) == PARTITIONS else None,
         timeout=90, what=f"the gateways owning the {PARTITIONS} partitions of {TOPIC}")


def wait_whole(query_port: int, sent: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Every sent trace from Jaeger once each has at least its sent number of spans."""
    def whole() -> dict[str, list[dict[str, Any]]] | None:
        got = {tid: jaeger_trace(query_port, tid) for tid in sent}
        return got if all(len(got[tid]) >= n for tid, n in sent.items()) else None
    return poll(whole, timeout=90, what=f"all {len(sent)} traces complete in Jaeger")


def provider(endpoint: str, service: str) -> TracerProvider:
    tp = TracerProvider(resource=Resource.create({"service.name": service}), id_generator=RandomIdGenerator())
    tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True),
                                             schedule_delay_millis=100))
    return tp


def send_llm_traces(agent_a: str, agent_b: str, n: int, seed: int) -> dict[str, int]:
    """`n` LLM-shaped traces; children go through agent A, the root (ended last) through agent B."""
    rng = random.Random(seed)
    children, roots = provider(agent_a, "scale-kafka-app"), provider(agent_b, "scale-kafka-app")
    sent: dict[str, int] = {}
    try:
        for i in range(n):
            root = roots.get_tracer("scale").start_span(
                f"{sc.OP_INVOKE_WORKFLOW} rag", attributes={sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW})
            ctx = trace.set_span_in_context(root)
            tracer = children.get_tracer("scale")
            for op, extra in ((sc.OP_RETRIEVAL, {}),
                              (sc.OP_CHAT, {sc.GEN_AI_USAGE_INPUT_TOKENS: rng.randint(50, 900)}),
                              (sc.OP_EXECUTE_TOOL, {sc.GEN_AI_TOOL_NAME: "lookup"}),
                              (sc.OP_CHAT, {sc.GEN_AI_USAGE_OUTPUT_TOKENS: rng.randint(10, 300)})):
                attrs = {sc.GEN_AI_OPERATION_NAME: op, sc.GEN_AI_PROVIDER_NAME: "openai",
                         sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini", **extra}
                tracer.start_span(f"{op} {i}", context=ctx, attributes=attrs).end()
            if i % 3 == 0:
                children.force_flush()  # some traces' children leave well before their root
            root.end()
            sent[format(root.get_span_context().trace_id, "032x")] = SPANS_PER_TRACE
    finally:
        children.shutdown()
        roots.shutdown()
    return sent


def test_every_trace_whole_through_kafka_and_decided_by_one_gateway(kafka_topology: dict[str, Any]):
    agents, gateways = kafka_topology["agents"], kafka_topology["gateways"]
    sent = send_llm_traces(agents[0].otlp_grpc, agents[1].otlp_grpc, TRACES, seed=int(os.environ.get("SEED", "15")))

    traces = wait_whole(kafka_topology["jaeger_query"], sent)

    for tid, spans in traces.items():
        assert len(spans) == sent[tid], f"trace {tid}: {len(spans)} spans in Jaeger, {sent[tid]} sent"
        deciders = {s["attrs"].get(TAG) for s in spans}
        assert len(deciders) == 1 and None not in deciders, f"trace {tid} split across gateways: {deciders}"
    per_gateway = {g.name: sum(1 for spans in traces.values() if spans[0]["attrs"][TAG] == g.name) for g in gateways}
    assert all(per_gateway.values()), f"a gateway decided no trace (partitions not shared out?): {per_gateway}"

    # The spans went through Kafka: the agents produced them and the gateways' kafka receivers accepted them all.
    total = TRACES * SPANS_PER_TRACE
    produced = sum(metric_sum(a.metrics_port, "otelcol_exporter_sent_spans", exporter="kafka/traces") for a in agents)
    consumed = sum(metric_sum(g.metrics_port, "otelcol_receiver_accepted_spans", receiver="kafka/traces")
                   for g in gateways)
    assert produced == total, f"agents' kafka exporter sent {produced} spans, {total} expected"
    assert consumed == total, f"gateways' kafka receiver accepted {consumed} spans, {total} expected"


def test_records_wait_in_kafka_while_every_gateway_is_down(kafka_topology: dict[str, Any]):
    """Both gateways stopped, traffic sent, gateways restarted: they resume from the group's committed offsets and
    every trace arrives whole (at-least-once: a span may be delivered twice, never lost). Runs after the test above."""
    agents, gateways = kafka_topology["agents"], kafka_topology["gateways"]
    for gw in gateways:
        gw.stop()
    sent = send_llm_traces(agents[0].otlp_grpc, agents[1].otlp_grpc, 20, seed=16)
    expected = (TRACES + 20) * SPANS_PER_TRACE
    poll(lambda: sum(metric_sum(a.metrics_port, "otelcol_exporter_sent_spans", exporter="kafka/traces")
                     for a in agents) == expected,
         timeout=30, what=f"the agents' kafka exporter at {expected} spans sent while no gateway runs")
    for gw in gateways:
        gw.start()
    wait_group_settled(gateways)
    traces = wait_whole(kafka_topology["jaeger_query"], sent)
    for tid, spans in traces.items():
        assert len({s["spanId"] for s in spans}) == sent[tid], f"trace {tid}: spans missing after the outage"
