"""What the conformance suite knows beyond the model: the dated differences, and the few facts the model lacks.

``DIFFERENCES`` is the one table of names where llm_otel follows ``opentelemetry-util-genai`` 1.3b0
(2026-10) rather than the 2026-08 model snapshot in ``model/`` (the newer wins, issue 9). The checker
accepts ``ours`` in place of ``snapshot`` and REJECTS the snapshot name; README "Conventions" lists the
same rows (``tests/conformance/test_readme.py`` checks that).

The other tables fill what the model does not carry, each with its source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    kind: str  # "attribute", "metric", "schema_url" (renames), "metric attribute" or "requirement"
    snapshot: str  # the name in the 2026-08 model snapshot (metric attribute: the metric; requirement: the attribute)
    ours: str  # what llm_otel emits (metric attribute: the added attribute; requirement: when it is set)
    since: str  # when the newer name appeared in what we follow
    reason: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "attribute", "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens",
        "2026-10", "renamed upstream after the snapshot; opentelemetry-util-genai 1.3b0 emits the new name",
    ),
    Difference(
        "metric", "gen_ai.workflow.duration", "gen_ai.invoke_workflow.duration",
        "2026-10", "renamed upstream after the snapshot; opentelemetry-util-genai 1.3b0 creates this instrument",
    ),
    Difference(
        "schema_url", "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev", "https://opentelemetry.io/schemas/1.37.0",
        "2026-10", "opentelemetry-util-genai 1.3b0 gives its tracer, meter and logger `Schemas.V1_37_0`",
    ),
    Difference(
        "metric attribute", "gen_ai.client.token.usage", "error.type",
        "2026-10", "opentelemetry-util-genai 1.3b0 records a failed call's token points with `error.type` "
        "(the snapshot lists it only on `gen_ai.client.operation.duration`)",
    ),
    Difference(
        "requirement", "aws.bedrock.guardrail.id", "when the request names a guardrail",
        "2026-08", "the snapshot marks it required on every `aws.bedrock` inference span, but a call without a "
        "guardrail has no id to report",
    ),
)

_RENAMES = ("attribute", "metric", "schema_url")
RENAMED_TO: dict[str, Difference] = {d.ours: d for d in DIFFERENCES if d.kind in _RENAMES}
SUPERSEDED: dict[str, Difference] = {d.snapshot: d for d in DIFFERENCES if d.kind in _RENAMES}
METRIC_ATTRIBUTES_ADDED: frozenset[tuple[str, str]] = frozenset(
    (d.snapshot, d.ours) for d in DIFFERENCES if d.kind == "metric attribute"
)
NOT_REQUIRED: frozenset[str] = frozenset(d.snapshot for d in DIFFERENCES if d.kind == "requirement")

# Types of the attributes the model only references (they live in the general conventions, schema 1.43.0).
UPSTREAM_TYPES: dict[str, str] = {
    "server.address": "string", "server.port": "int", "client.address": "string", "client.port": "int",
    "error.type": "string", "exception.type": "string", "exception.message": "string",
    "exception.stacktrace": "string", "network.transport": "string", "network.protocol.name": "string",
    "network.protocol.version": "string", "jsonrpc.request.id": "string", "jsonrpc.protocol.version": "string",
    "rpc.response.status_code": "string",
}

# Namespaces outside the GenAI model that we use on purpose, with the conventions they come from.
OTHER_ATTRIBUTES: dict[str, str] = {
    # database conventions (stable): the vector store a retrieval or write went to (issue 12)
    "db.system.name": "string", "db.collection.name": "string", "db.operation.name": "string",
    "db.response.returned_rows": "int",
}
# Metrics of other conventions that we emit on purpose: name -> (instrument, unit, {attribute: requirement}).
OTHER_METRICS: dict[str, tuple[str, str, dict[str, str]]] = {
    # database conventions (stable): vector-store writes (issue 12)
    "db.client.operation.duration": ("histogram", "s", {
        "db.system.name": "required", "db.collection.name": "conditionally_required",
        "db.operation.name": "conditionally_required", "error.type": "conditionally_required",
        "server.address": "recommended", "server.port": "conditionally_required",
    }),
}
OWN_PREFIX = "llm_otel."  # our own namespace: cost, stream health, pipeline health

# Open enums: values the model does not list that we emit on purpose (the conventions allow custom values
# when no member applies).
CUSTOM_ENUM_VALUES: dict[str, dict[str, str]] = {
    "gen_ai.provider.name": {
        "ollama": "no member exists for Ollama; the conventions allow a custom value",
        "vllm": "no member exists for vLLM (self-hosted); the conventions allow a custom value",
        **{store: "a vector store as a retrieval's provider: no member exists for vector stores"
           for store in ("chroma", "qdrant", "lancedb", "faiss")},
    },
}

# Advisory explicit bucket boundaries: the model YAML carries none, so these come from what
# opentelemetry-util-genai 1.3b0 creates (opentelemetry/util/genai/_instruments.py), the reference here.
_DURATION = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
ADVISORY_BUCKETS: dict[str, tuple[float, ...]] = {
    "gen_ai.client.operation.duration": _DURATION,
    "gen_ai.client.operation.time_to_first_chunk": _DURATION,
    "gen_ai.client.operation.time_per_output_chunk": _DURATION,
    "gen_ai.execute_tool.duration": _DURATION,
    "gen_ai.client.token.usage": (
        1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
    ),
    "gen_ai.invoke_agent.duration": (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6),
    "gen_ai.invoke_workflow.duration": (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200),
    # the database conventions' advisory boundaries
    "db.client.operation.duration": (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10),
}


def readme_table() -> str:
    """The README rows for DIFFERENCES (README "Conventions" must contain exactly these lines)."""
    lines = [
        "| kind | 2026-08 snapshot | llm_otel emits | since | reason |",
        "|---|---|---|---|---|",
    ]
    for d in DIFFERENCES:
        ours = d.ours if d.kind == "requirement" else f"`{d.ours}`"
        lines.append(f"| {d.kind} | `{d.snapshot}` | {ours} | {d.since} | {d.reason} |")
    return "\n".join(lines)
