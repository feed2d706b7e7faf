"""Every telemetry name llm_otel emits, in one place.

The GenAI conventions are pinned to the set today's official Python packages emit
(``gen-ai-dev/1.42.0-dev``, see README "Conventions"). Upstream still marks them
"Development" and has renamed several names in 2026, so nothing else in the package
spells a ``gen_ai.*`` string: change a name here and every span, metric, rule and
test follows.

Names under ``llm_otel.*`` are ours, for what the conventions do not cover (cost,
quality, pipeline health); they never reuse the ``gen_ai.`` namespace.
"""

from __future__ import annotations

from typing import Final

SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"

# -- operations (gen_ai.operation.name values) --------------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
INFERENCE_OPERATIONS: Final = frozenset(
    {OP_CHAT, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT, OP_EMBEDDINGS}
)

# -- provider names (gen_ai.provider.name values) ------------------------------------
PROVIDER_OPENAI: Final = "openai"
PROVIDER_ANTHROPIC: Final = "anthropic"

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
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
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

# -- metrics: (name, unit, description) -------------------------------------------------
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

METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"

METRIC_COST: Final = "llm_otel.client.cost"
METRIC_RESPONSE_LENGTH: Final = "llm_otel.client.response.length"
METRIC_UNPRICED: Final = "llm_otel.client.unpriced"
METRIC_RETRIEVAL_DURATION: Final = "llm_otel.retrieval.duration"
METRIC_RETRIEVAL_DOCUMENTS: Final = "llm_otel.retrieval.documents"
METRIC_TOOL_DURATION: Final = "llm_otel.tool.duration"
METRIC_AGENT_DURATION: Final = "llm_otel.agent.duration"
METRIC_WORKFLOW_DURATION: Final = "llm_otel.workflow.duration"
METRIC_EVALUATION_RESULTS: Final = "llm_otel.evaluation.results"
METRIC_EVALUATION_SCORE: Final = "llm_otel.evaluation.score"
METRIC_FEEDBACK_SCORE: Final = "llm_otel.feedback.score"
METRIC_INSTRUMENTATION_ERRORS: Final = "llm_otel.instrumentation.errors"
METRIC_CONTENT_TRUNCATED: Final = "llm_otel.content.truncated"

# The only attributes a metric point may carry. Ids of any kind (request, response,
# conversation, user, session, tool call) are span-only: they would explode cardinality.
METRIC_ATTRIBUTE_ALLOWLIST: Final = frozenset(
    {
        GEN_AI_OPERATION_NAME,
        GEN_AI_PROVIDER_NAME,
        GEN_AI_REQUEST_MODEL,
        GEN_AI_RESPONSE_MODEL,
        SERVER_ADDRESS,
        SERVER_PORT,
        ERROR_TYPE,
        GEN_AI_TOKEN_TYPE,
        GEN_AI_TOOL_NAME,
        GEN_AI_TOOL_TYPE,
        GEN_AI_AGENT_NAME,
        GEN_AI_WORKFLOW_NAME,
        GEN_AI_EVALUATION_NAME,
        GEN_AI_EVALUATION_SCORE_LABEL,
        LLM_OTEL_ERROR_STAGE,
        LLM_OTEL_CONTENT_ATTRIBUTE,
        LLM_OTEL_FEEDBACK_LABEL,
    }
)

# -- frameworks: LangChain / LangGraph, LlamaIndex, OpenAI Agents SDK (issue 13) --
LLM_OTEL_HANDOFF_FROM_AGENT: Final = "llm_otel.handoff.from_agent"
LLM_OTEL_HANDOFF_TO_AGENT: Final = "llm_otel.handoff.to_agent"
LLM_OTEL_GUARDRAIL_TRIGGERED: Final = "llm_otel.guardrail.triggered"
TOOL_TYPE_FUNCTION: Final = "function"
TOOL_TYPE_EXTENSION: Final = "extension"
