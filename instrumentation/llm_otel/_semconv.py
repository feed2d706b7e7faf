"""Every telemetry name llm_otel reads or writes, and every metric's declaration, in one place.

The names follow the GenAI conventions model of 2026-08 (``gen-ai-dev/1.42.0-dev``, a copy
in ``tests/conformance/model``) where ``opentelemetry-util-genai`` 1.3b0 (2026-10) agrees, and
util-genai 1.3b0 where it is newer (README "Conventions" lists each dated difference).
``SCHEMA_URL`` is the one util-genai 1.3b0 gives its tracer, meter and logger
(``Schemas.V1_37_0``), so telemetry from both declares the same schema; the GenAI names
themselves are newer than that schema (upstream still marks them "Development" and renamed
several in 2026). So nothing else in the package spells a ``gen_ai.*`` string: change a name here and every
span, metric, rule and test follows.

Names under ``llm_otel.*`` are ours, for what the conventions do not cover (cost,
quality, pipeline health); they never reuse the ``gen_ai.`` namespace.
"""

from __future__ import annotations

from typing import Final

SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"  # = util-genai 1.3b0's Schemas.V1_37_0

# -- operations (gen_ai.operation.name values) --------------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CREATE_AGENT: Final = "create_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
INFERENCE_OPERATIONS: Final = frozenset(
    {OP_CHAT, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT, OP_EMBEDDINGS}
)

# -- provider names (gen_ai.provider.name values) ------------------------------------
PROVIDER_OPENAI: Final = "openai"
PROVIDER_ANTHROPIC: Final = "anthropic"

# -- output-message finish reasons (the conventions' FinishReason enum) ------------------------
FINISH_STOP: Final = "stop"
FINISH_LENGTH: Final = "length"
FINISH_CONTENT_FILTER: Final = "content_filter"
FINISH_TOOL_CALL: Final = "tool_call"
FINISH_ERROR: Final = "error"

# -- span attributes ------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"

GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"

GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"

GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
# renamed after the 2026-08 model snapshot (which says cache_creation); util-genai 1.3b0 emits this one
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"

# opt-in content attributes (JSON strings on spans)
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"

GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
GEN_AI_RETRIEVAL_TOP_K: Final = "gen_ai.retrieval.top_k"
GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"

GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"

GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
GEN_AI_AGENT_VERSION: Final = "gen_ai.agent.version"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"

GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"

SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
ERROR_TYPE_OTHER: Final = "_OTHER"

# ours (span attributes)
LLM_OTEL_COST_USD: Final = "llm_otel.cost.usd"
LLM_OTEL_STREAM_ENDED_EARLY: Final = "llm_otel.stream.ended_early"
LLM_OTEL_STREAM_END_REASON: Final = "llm_otel.stream.end_reason"
LLM_OTEL_STREAM_CHUNKS: Final = "llm_otel.stream.chunks"
LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT: Final = "llm_otel.retrieval.document_count"
LLM_OTEL_CONTENT_TRUNCATED: Final = "llm_otel.content.truncated"
LLM_OTEL_ERROR_STAGE: Final = "llm_otel.error.stage"
LLM_OTEL_CONTENT_ATTRIBUTE: Final = "llm_otel.content.attribute"
LLM_OTEL_FEEDBACK_LABEL: Final = "llm_otel.feedback.label"

# -- events (log records through the Logs API) -----------------------------------------
EVENT_INFERENCE_DETAILS: Final = "gen_ai.client.inference.operation.details"
EVENT_EVALUATION_RESULT: Final = "gen_ai.evaluation.result"

# -- metrics: one declaration per instrument ----------------------------------------------
# Each METRIC_* constant IS the metric's name (a str) and carries its whole declaration: kind,
# unit, description, bucket boundaries and the attributes a point may carry. ``_telemetry``
# builds the instruments from ``METRICS``; the conformance checks and README tables read it too.
# Adding a metric = one row here + one record call in the recorder.


class Metric(str):
    """A metric name that also carries the rest of its declaration."""

    kind: str
    unit: str
    description: str
    attributes: frozenset[str]
    buckets: tuple[float, ...] | None

    def __new__(
        cls, name: str, unit: str, description: str, attributes: frozenset[str],
        buckets: tuple[float, ...] | None = None,
    ) -> Metric:
        self = super().__new__(cls, name)
        self.unit, self.description, self.attributes, self.buckets = unit, description, attributes, buckets
        return self


class HistogramMetric(Metric):
    kind = "histogram"


class CounterMetric(Metric):
    kind = "counter"


DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)
# seed 000's response-length histogram, widened for long answers
RESPONSE_LENGTH_BUCKETS: Final = (
    0, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
)
DOCUMENT_COUNT_BUCKETS: Final = (0, 1, 2, 3, 5, 8, 10, 20, 50, 100)
SCORE_BUCKETS: Final = (-1, -0.5, -0.1, 0, 0.1, 0.25, 0.5, 0.75, 1, 2, 3, 4, 5)
# the conventions' (util-genai 1.3b0) advisory buckets for agent and workflow runs: longer than one call
AGENT_DURATION_BUCKETS: Final = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6)
WORKFLOW_DURATION_BUCKETS: Final = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
CALL_COUNT_BUCKETS: Final = (0, 1, 2, 3, 4, 5, 8, 13, 21, 34, 55, 89)

# the attribute sets points may carry (ids and free text never: they would explode cardinality)
INFERENCE_METRIC_ATTRIBUTES: Final = frozenset(
    {GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL, GEN_AI_RESPONSE_MODEL,
     SERVER_ADDRESS, SERVER_PORT, ERROR_TYPE}
)
RETRIEVAL_METRIC_ATTRIBUTES: Final = frozenset({GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, ERROR_TYPE})
# retrieval durations share the operation-duration instrument (gen_ai.operation.name = retrieval)
OPERATION_METRIC_ATTRIBUTES: Final = INFERENCE_METRIC_ATTRIBUTES | RETRIEVAL_METRIC_ATTRIBUTES
# (tool, agent and workflow instruments name their operation: no gen_ai.operation.name, as in the model)
TOOL_METRIC_ATTRIBUTES: Final = frozenset({GEN_AI_TOOL_NAME, GEN_AI_TOOL_TYPE, ERROR_TYPE})
AGENT_METRIC_ATTRIBUTES: Final = frozenset({GEN_AI_AGENT_NAME, GEN_AI_REQUEST_MODEL, ERROR_TYPE})
WORKFLOW_METRIC_ATTRIBUTES: Final = frozenset({GEN_AI_WORKFLOW_NAME, ERROR_TYPE})
EVALUATION_METRIC_ATTRIBUTES: Final = frozenset(
    {GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL, GEN_AI_EVALUATION_NAME,
     GEN_AI_EVALUATION_SCORE_LABEL}
)

METRIC_TOKEN_USAGE: Final = HistogramMetric(
    "gen_ai.client.token.usage", "{token}", "Number of input and output tokens used.",
    INFERENCE_METRIC_ATTRIBUTES | {GEN_AI_TOKEN_TYPE}, TOKEN_BUCKETS,
)
METRIC_OPERATION_DURATION: Final = HistogramMetric(
    "gen_ai.client.operation.duration", "s", "GenAI operation duration.",
    OPERATION_METRIC_ATTRIBUTES, DURATION_BUCKETS,
)
METRIC_TIME_TO_FIRST_CHUNK: Final = HistogramMetric(
    "gen_ai.client.operation.time_to_first_chunk", "s",
    "Time from the request to the first output chunk of a streamed response.",
    INFERENCE_METRIC_ATTRIBUTES, DURATION_BUCKETS,
)
METRIC_TIME_PER_OUTPUT_CHUNK: Final = HistogramMetric(
    "gen_ai.client.operation.time_per_output_chunk", "s",
    "Time between consecutive output chunks of a streamed response.",
    INFERENCE_METRIC_ATTRIBUTES, DURATION_BUCKETS,
)
METRIC_COST: Final = CounterMetric(
    "llm_otel.client.cost", "{USD}", "Cost of GenAI calls in US dollars.", INFERENCE_METRIC_ATTRIBUTES,
)
METRIC_RESPONSE_LENGTH: Final = HistogramMetric(
    "llm_otel.client.response.length", "{char}", "Length of model responses in characters.",
    INFERENCE_METRIC_ATTRIBUTES, RESPONSE_LENGTH_BUCKETS,
)
METRIC_UNPRICED: Final = CounterMetric(
    "llm_otel.client.unpriced", "{call}",
    "Calls with token usage whose model has no known price (cost not recorded).", INFERENCE_METRIC_ATTRIBUTES,
)
METRIC_RETRIEVAL_DOCUMENTS: Final = HistogramMetric(
    "llm_otel.retrieval.documents", "{document}", "Number of documents a retrieval returned.",
    RETRIEVAL_METRIC_ATTRIBUTES, DOCUMENT_COUNT_BUCKETS,
)
METRIC_TOOL_DURATION: Final = HistogramMetric(
    "gen_ai.execute_tool.duration", "s", "Measures the duration of a tool execution.",
    TOOL_METRIC_ATTRIBUTES | {GEN_AI_AGENT_NAME}, DURATION_BUCKETS,
)
METRIC_AGENT_DURATION: Final = HistogramMetric(
    "gen_ai.invoke_agent.duration", "s", "Measures the duration of an in-process agent invocation.",
    AGENT_METRIC_ATTRIBUTES, AGENT_DURATION_BUCKETS,
)
METRIC_AGENT_INFERENCE_CALLS: Final = HistogramMetric(
    "gen_ai.invoke_agent.inference_calls", "{inference_call}", "Number of model calls in one agent invocation.",
    frozenset({GEN_AI_AGENT_NAME}), CALL_COUNT_BUCKETS,
)
METRIC_AGENT_TOOL_CALLS: Final = HistogramMetric(
    "gen_ai.invoke_agent.tool_calls", "{tool_call}", "Number of tool calls in one agent invocation.",
    frozenset({GEN_AI_AGENT_NAME}), CALL_COUNT_BUCKETS,
)
# renamed after the 2026-08 model snapshot (gen_ai.workflow.duration); util-genai 1.3b0 emits this one
METRIC_WORKFLOW_DURATION: Final = HistogramMetric(
    "gen_ai.invoke_workflow.duration", "s", "Measures the duration of a workflow execution.",
    WORKFLOW_METRIC_ATTRIBUTES, WORKFLOW_DURATION_BUCKETS,
)
METRIC_USAGE_UNREPORTED: Final = CounterMetric(
    "llm_otel.client.usage.unreported", "{call}",
    "Completed inference calls whose provider reported no token usage (no token or cost points for them).",
    INFERENCE_METRIC_ATTRIBUTES,
)
METRIC_EVALUATION_RESULTS: Final = CounterMetric(
    "llm_otel.evaluation.results", "{evaluation}", "Evaluation results by evaluator and label.",
    EVALUATION_METRIC_ATTRIBUTES,
)
METRIC_EVALUATION_SCORE: Final = HistogramMetric(
    "llm_otel.evaluation.score", "1", "Numeric evaluation scores.", EVALUATION_METRIC_ATTRIBUTES, SCORE_BUCKETS,
)
METRIC_FEEDBACK_SCORE: Final = HistogramMetric(
    "llm_otel.feedback.score", "1", "User feedback scores.", frozenset({LLM_OTEL_FEEDBACK_LABEL}), SCORE_BUCKETS,
)
METRIC_INSTRUMENTATION_ERRORS: Final = CounterMetric(
    "llm_otel.instrumentation.errors", "{error}",
    "Internal llm_otel failures that were contained (the user's call went on).", frozenset({LLM_OTEL_ERROR_STAGE}),
)
METRIC_CONTENT_TRUNCATED: Final = CounterMetric(
    "llm_otel.content.truncated", "{attribute}", "Content attributes cut to the configured size limit.",
    frozenset({LLM_OTEL_CONTENT_ATTRIBUTE}),
)

# METRICS and METRIC_ATTRIBUTE_ALLOWLIST are computed at the very end of this file, so a block appended
# below may declare metric rows too.

# -- system, GPU and self-hosted model metrics (issue 17) --
# OTel hardware conventions for GPUs (semconv hardware/gpu, development status).
METRIC_HW_GPU_UTILIZATION: Final = "hw.gpu.utilization"
METRIC_HW_GPU_MEMORY_USAGE: Final = "hw.gpu.memory.usage"
METRIC_HW_GPU_MEMORY_LIMIT: Final = "hw.gpu.memory.limit"
METRIC_HW_GPU_MEMORY_UTILIZATION: Final = "hw.gpu.memory.utilization"
HW_ID: Final = "hw.id"
HW_NAME: Final = "hw.name"
HW_MODEL: Final = "hw.model"
HW_VENDOR: Final = "hw.vendor"
HW_TYPE: Final = "hw.type"
HW_DRIVER_VERSION: Final = "hw.driver_version"
HW_GPU_TASK: Final = "hw.gpu.task"
# Compute spent serving a self-hosted model (no convention exists): CPU-seconds and GPU-seconds per model.
METRIC_MODEL_CPU_TIME: Final = "llm_otel.model.cpu.time"
METRIC_MODEL_GPU_TIME: Final = "llm_otel.model.gpu.time"

# -- providers: AWS Bedrock, Groq, LiteLLM (issue 11) --
PROVIDER_AWS_BEDROCK: Final = "aws.bedrock"
PROVIDER_GROQ: Final = "groq"
AWS_BEDROCK_GUARDRAIL_ID: Final = "aws.bedrock.guardrail.id"

# -- providers: google-genai, mistralai, ollama, cohere (issue 11) --
PROVIDER_GCP_GEMINI: Final = "gcp.gemini"
PROVIDER_GCP_VERTEX_AI: Final = "gcp.vertex_ai"
PROVIDER_MISTRAL_AI: Final = "mistral_ai"
PROVIDER_OLLAMA: Final = "ollama"
PROVIDER_COHERE: Final = "cohere"
# -- vector stores (issue 12) --------------------------------------------------------------
# Database conventions (stable part): the store a retrieval or a write went to.
DB_SYSTEM_NAME: Final = "db.system.name"
DB_COLLECTION_NAME: Final = "db.collection.name"
DB_OPERATION_NAME: Final = "db.operation.name"
DB_RESPONSE_RETURNED_ROWS: Final = "db.response.returned_rows"
# db.system.name values: the conventions list no vector store, so each is the product's own
# lower-case name (the value OpenLLMetry's instrumentations use for chroma, qdrant and lancedb).
DB_SYSTEM_CHROMA: Final = "chroma"
DB_SYSTEM_QDRANT: Final = "qdrant"
DB_SYSTEM_LANCEDB: Final = "lancedb"
DB_SYSTEM_FAISS: Final = "faiss"

# -- MCP (issue 12) -------------------------------------------------------------------------
# Model Context Protocol conventions (semconv model mcp/: registry, spans, metrics).
MCP_METHOD_NAME: Final = "mcp.method.name"
MCP_SESSION_ID: Final = "mcp.session.id"
MCP_PROTOCOL_VERSION: Final = "mcp.protocol.version"
MCP_RESOURCE_URI: Final = "mcp.resource.uri"
JSONRPC_REQUEST_ID: Final = "jsonrpc.request.id"
RPC_RESPONSE_STATUS_CODE: Final = "rpc.response.status_code"
NETWORK_TRANSPORT: Final = "network.transport"
NETWORK_PROTOCOL_NAME: Final = "network.protocol.name"
GEN_AI_PROMPT_NAME: Final = "gen_ai.prompt.name"
TRANSPORT_PIPE: Final = "pipe"  # stdio
TRANSPORT_TCP: Final = "tcp"  # streamable HTTP
PROTOCOL_HTTP: Final = "http"
ERROR_TYPE_TOOL_ERROR: Final = "tool_error"  # a CallToolResult with isError

MCP_INITIALIZE: Final = "initialize"
MCP_TOOLS_LIST: Final = "tools/list"
MCP_TOOLS_CALL: Final = "tools/call"
MCP_RESOURCES_READ: Final = "resources/read"
MCP_PROMPTS_GET: Final = "prompts/get"

# The buckets the MCP conventions advise for their four duration histograms (seconds).
MCP_DURATION_BUCKETS: Final = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)

# What an MCP metric point may carry (no session id, request id or resource URI: span-only).
MCP_METRIC_ATTRIBUTES: Final = frozenset(
    {
        MCP_METHOD_NAME,
        MCP_PROTOCOL_VERSION,
        GEN_AI_OPERATION_NAME,
        GEN_AI_TOOL_NAME,
        GEN_AI_PROMPT_NAME,
        NETWORK_TRANSPORT,
        NETWORK_PROTOCOL_NAME,
        SERVER_ADDRESS,
        SERVER_PORT,
        ERROR_TYPE,
        RPC_RESPONSE_STATUS_CODE,
    }
)

# -- frameworks: LangChain / LangGraph, LlamaIndex, OpenAI Agents SDK (issue 13) --
LLM_OTEL_HANDOFF_FROM_AGENT: Final = "llm_otel.handoff.from_agent"
LLM_OTEL_HANDOFF_TO_AGENT: Final = "llm_otel.handoff.to_agent"
LLM_OTEL_GUARDRAIL_TRIGGERED: Final = "llm_otel.guardrail.triggered"
TOOL_TYPE_FUNCTION: Final = "function"
TOOL_TYPE_EXTENSION: Final = "extension"

# -- MCP metrics, database writes (issues 12/13 gaps, helper agents) --
# The MCP metrics as METRICS rows (built by _telemetry with every other instrument).
METRIC_MCP_CLIENT_OPERATION_DURATION: Final = HistogramMetric(
    "mcp.client.operation.duration", "s",
    "The duration of the MCP request or notification as observed on the sender.",
    MCP_METRIC_ATTRIBUTES, MCP_DURATION_BUCKETS,
)
METRIC_MCP_SERVER_OPERATION_DURATION: Final = HistogramMetric(
    "mcp.server.operation.duration", "s",
    "MCP request or notification duration as observed on the receiver.",
    MCP_METRIC_ATTRIBUTES, MCP_DURATION_BUCKETS,
)
METRIC_MCP_CLIENT_SESSION_DURATION: Final = HistogramMetric(
    "mcp.client.session.duration", "s", "The duration of the MCP session as observed on the MCP client.",
    MCP_METRIC_ATTRIBUTES, MCP_DURATION_BUCKETS,
)
METRIC_MCP_SERVER_SESSION_DURATION: Final = HistogramMetric(
    "mcp.server.session.duration", "s", "The duration of the MCP session as observed on the MCP server.",
    MCP_METRIC_ATTRIBUTES, MCP_DURATION_BUCKETS,
)
# Database client operations (vector-store writes): the database conventions' duration histogram.
DB_METRIC_ATTRIBUTES: Final = frozenset(
    {DB_SYSTEM_NAME, DB_COLLECTION_NAME, DB_OPERATION_NAME, ERROR_TYPE, SERVER_ADDRESS, SERVER_PORT}
)
# the database conventions' advisory buckets (seconds)
DB_DURATION_BUCKETS: Final = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10)
METRIC_DB_CLIENT_OPERATION_DURATION: Final = HistogramMetric(
    "db.client.operation.duration", "s", "Duration of database client operations.",
    DB_METRIC_ATTRIBUTES, DB_DURATION_BUCKETS,
)
# error.type of a guardrail span whose tripwire triggered (the run stops with the SDK's *TripwireTriggered)
ERROR_TYPE_GUARDRAIL_TRIPWIRE: Final = "guardrail_tripwire_triggered"

# -- hardening: limits, rejected values, exceptions (issue 10, helper hardlib) --
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
EXCEPTION_ESCAPED: Final = "exception.escaped"
LLM_OTEL_ENDED_EARLY: Final = "llm_otel.ended_early"
LLM_OTEL_END_REASON: Final = "llm_otel.end_reason"
LLM_OTEL_METRIC_ATTRIBUTE: Final = "llm_otel.metric.attribute"
LLM_OTEL_REJECTED_FIELD: Final = "llm_otel.rejected.field"
LLM_OTEL_REJECTED_REASON: Final = "llm_otel.rejected.reason"
LABEL_OTHER: Final = "_OTHER"
"""What a metric attribute's value becomes beyond its limit (``LLM_OTEL_METRIC_ATTRIBUTE_LIMIT``)."""
REJECTED_TYPE: Final = "type"
REJECTED_RANGE: Final = "range"
REJECTED_NEGATIVE: Final = "negative"
METRIC_ATTRIBUTE_OVERFLOW: Final = CounterMetric(
    "llm_otel.metric.attribute_overflow", "{point}",
    "Metric points whose attribute value was collapsed to _OTHER by llm_otel's cardinality guard.",
    frozenset({LLM_OTEL_METRIC_ATTRIBUTE}),
)
METRIC_REJECTED_VALUES: Final = CounterMetric(
    "llm_otel.rejected_values", "{value}",
    "Values llm_otel left out because of their type or range (the rest of the span and its metrics stay).",
    frozenset({LLM_OTEL_REJECTED_FIELD, LLM_OTEL_REJECTED_REASON}),
)

# -- provider conformance: clouds, recommended request attributes (issue 9, helper confprov) --
PROVIDER_AZURE_AI_OPENAI: Final = "azure.ai.openai"
GEN_AI_REQUEST_REASONING_LEVEL: Final = "gen_ai.request.reasoning.level"
GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID: Final = "gen_ai.request.previous_response.id"
OPENAI_API_TYPE: Final = "openai.api.type"
OPENAI_API_TYPE_CHAT_COMPLETIONS: Final = "chat_completions"
OPENAI_API_TYPE_RESPONSES: Final = "responses"
OUTPUT_TYPE_JSON: Final = "json"
OUTPUT_TYPE_TEXT: Final = "text"

# -- keep these two last: every block above may declare metric rows --
METRICS: Final[tuple[Metric, ...]] = tuple(v for v in list(globals().values()) if isinstance(v, Metric))
"""Every instrument llm_otel creates, in declaration order."""

# The only attributes a metric point may carry: the union of the declarations above.
METRIC_ATTRIBUTE_ALLOWLIST: Final = frozenset().union(*(m.attributes for m in METRICS))
