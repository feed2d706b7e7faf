"""The one place where an invocation becomes telemetry.

Whatever fed the invocation (the manual API, a decorator, a provider instrumentor),
this module turns it into the span (name, kind, attributes at start and end, status),
the metric points, the cost and the captured content. Nothing else in the package
writes spans or records metrics for invocations.

Every function that user code reaches contains its own failures (``_safety``): the
span may be incomplete, the user's call is never affected.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach, detach, get_value, set_value
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, get_current_span, set_span_in_context

from llm_otel import _content, _evaluation, _pricing, _settings, _telemetry
from llm_otel import _semconv as sc
from llm_otel._keys import AGENT_KEY, FINISHED, INVOCATION_KEY, NEW, STARTED
from llm_otel._safety import report

if TYPE_CHECKING:  # the invocation modules import this one: types only, no import cycle
    from llm_otel._agent import AgentInvocation, WorkflowInvocation
    from llm_otel._invocation import Invocation
    from llm_otel._llm import LLMInvocation
    from llm_otel._retrieval import RetrievalInvocation
    from llm_otel._telemetry import Telemetry
    from llm_otel._tool import ToolInvocation

SpanStart = tuple[str, SpanKind, dict[str, Any]]

_perf = time.perf_counter
_CLIENT = SpanKind.CLIENT
_INTERNAL = SpanKind.INTERNAL

# -- life cycle ----------------------------------------------------------------------------


def start(inv: Invocation, attach_context: bool) -> None:
    """Open the span (sampling-relevant attributes included) and make it current."""
    if inv._state != NEW:
        return
    inv._state = STARTED
    try:
        name, kind, attributes = inv._span_start()
        span = _telemetry.current().tracer.start_span(name, kind=kind, attributes=attributes)
        inv._span = span
        context = set_value(INVOCATION_KEY, inv, set_span_in_context(span))
        inv._context = set_value(AGENT_KEY, inv, context) if inv._is_agent else context
        if attach_context:
            inv._token = attach(inv._context)
    except Exception as exc:
        report("start", exc)
    inv._start = _perf()


def activate(inv: Invocation) -> object:
    """Make the invocation current for a step of a generator; returns a token or None."""
    ctx = inv._context
    if ctx is None or inv._state != STARTED:
        return None
    try:
        return attach(ctx)
    except Exception as exc:
        report("activate", exc)
        return None


def deactivate(token: Any) -> None:
    if token is not None:
        try:
            detach(token)
        except Exception as exc:
            report("deactivate", exc)


def release(inv: Invocation) -> None:
    """Stop being the current span without ending (a stream returned to the caller stays open)."""
    token, inv._token = inv._token, None
    if token is not None:
        try:
            detach(token)
        except Exception as exc:
            report("detach", exc)


def foreign_inference_span_is_current() -> bool:
    """True if another instrumentation's inference span is current (e.g. a framework's LLM span)."""
    span = get_current_span()
    attributes = getattr(span, "attributes", None)
    if not attributes or not span.is_recording():
        return False
    return attributes.get(sc.GEN_AI_OPERATION_NAME) in sc.INFERENCE_OPERATIONS


def finish(inv: Invocation, exc: BaseException | None) -> None:
    """End the invocation exactly once: attributes, status, metrics, cost, content."""
    if inv._state != STARTED:
        return
    inv._state = FINISHED
    duration = _perf() - inv._start
    span = inv._span
    try:
        if span is not None:
            inv._span_end(_telemetry.current(), span, _error_type(inv, span, exc), duration)
    except Exception as internal:
        report("finish", internal)
    finally:
        token, inv._token = inv._token, None
        try:
            if span is not None:
                span.end()
        except Exception as internal:
            report("end", internal)
        if token is not None:
            try:
                detach(token)
            except Exception as internal:
                report("detach", internal)


def _error_type(inv: Invocation, span: Span, exc: BaseException | None) -> str | None:
    if exc is not None and not isinstance(exc, Exception):
        # GeneratorExit, CancelledError, KeyboardInterrupt: the caller stopped, nothing failed
        inv.end_early("closed" if isinstance(exc, GeneratorExit) else type(exc).__name__.lower())
        exc = None
    error_type = inv.error_type
    if exc is not None and error_type is None:
        error_type = type(exc).__qualname__ or sc.ERROR_TYPE_OTHER
    if error_type is None:
        return None
    if span.is_recording():
        if exc is not None:
            span.record_exception(exc, escaped=True)
        span.set_status(Status(StatusCode.ERROR, str(exc) if exc is not None else error_type))
        span.set_attribute(sc.ERROR_TYPE, error_type)
    return error_type


# -- streaming chunks -----------------------------------------------------------------------


def first_chunk(inv: LLMInvocation, now: float) -> None:
    try:
        inv._chunk_attributes = llm_metric_attributes(inv, None)  # reused for every later chunk
        _telemetry.current()[sc.METRIC_TIME_TO_FIRST_CHUNK].record(
            now - inv._start, inv._chunk_attributes, context=inv._context
        )
    except Exception as exc:
        report("chunk", exc)


def next_chunk(inv: LLMInvocation, gap: float) -> None:
    try:
        _telemetry.current()[sc.METRIC_TIME_PER_OUTPUT_CHUNK].record(
            gap, inv._chunk_attributes or llm_metric_attributes(inv, None), context=inv._context
        )
    except Exception as exc:
        report("chunk", exc)


# -- inference --------------------------------------------------------------------------------


def start_llm(inv: LLMInvocation) -> SpanStart:
    operation = inv.operation
    model = inv.model
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation, sc.GEN_AI_PROVIDER_NAME: inv.provider}
    if model:
        attributes[sc.GEN_AI_REQUEST_MODEL] = model
    inv._copy_start_attributes(attributes)
    agent = get_value(AGENT_KEY)
    if agent is not None:
        agent._inference_calls += 1  # type: ignore[attr-defined]
    return (f"{operation} {model}" if model else operation), _CLIENT, attributes


def inference_base_attributes(inv: LLMInvocation) -> dict[str, Any]:
    """Operation, provider and model: what every metric point about an inference carries."""
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: inv.operation, sc.GEN_AI_PROVIDER_NAME: inv.provider}
    if inv.model:
        attributes[sc.GEN_AI_REQUEST_MODEL] = inv.model
    return attributes


def llm_metric_attributes(inv: LLMInvocation, error_type: str | None) -> dict[str, Any]:
    """The attributes of the inference metrics (duration, tokens, cost, chunks): the base ones plus these."""
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: inv.operation, sc.GEN_AI_PROVIDER_NAME: inv.provider}
    if inv.model:
        attributes[sc.GEN_AI_REQUEST_MODEL] = inv.model
    if inv.response_model:
        attributes[sc.GEN_AI_RESPONSE_MODEL] = inv.response_model
    if inv.server_address:
        attributes[sc.SERVER_ADDRESS] = inv.server_address
    if inv.server_port:
        attributes[sc.SERVER_PORT] = inv.server_port
    if error_type:
        attributes[sc.ERROR_TYPE] = error_type
    return attributes


def finish_llm(inv: LLMInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float) -> None:
    settings = _settings.get()
    metric_attributes = llm_metric_attributes(inv, error_type)
    ctx = inv._context  # every point's exemplar links to this call's span, wherever the call ends
    tel[sc.METRIC_OPERATION_DURATION].record(duration, metric_attributes, context=ctx)

    input_tokens, output_tokens = inv.input_tokens, inv.output_tokens
    if input_tokens is not None:
        tel[sc.METRIC_TOKEN_USAGE].record(
            input_tokens, {**metric_attributes, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}, context=ctx
        )
    if output_tokens is not None:
        tel[sc.METRIC_TOKEN_USAGE].record(
            output_tokens, {**metric_attributes, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}, context=ctx
        )
    elif input_tokens is None and error_type is None:
        tel[sc.METRIC_USAGE_UNREPORTED].add(1, metric_attributes, context=ctx)  # no tokens, no cost: counted
    if inv.cost_usd is None and (input_tokens or output_tokens):
        rates = _pricing.rates_for(inv.provider, inv.response_model or inv.model or "", settings.prices_file)
        if rates is None:
            tel[sc.METRIC_UNPRICED].add(1, metric_attributes, context=ctx)
        else:
            inv.cost_usd = rates.cost(
                input_tokens or 0,
                output_tokens or 0,
                inv.cache_read_input_tokens or 0,
                inv.cache_write_input_tokens or 0,
            )
    if inv.cost_usd is not None:
        tel[sc.METRIC_COST].add(inv.cost_usd, metric_attributes, context=ctx)

    end: dict[str, Any] = {}
    inv._copy_end_attributes(end)
    if inv._chunks and inv._first_chunk is not None:
        end[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = inv._first_chunk - inv._start
        end[sc.LLM_OTEL_STREAM_CHUNKS] = inv._chunks
    if inv._end_reason is not None:
        end[sc.LLM_OTEL_STREAM_ENDED_EARLY] = True
        end[sc.LLM_OTEL_STREAM_END_REASON] = inv._end_reason

    text = inv.output_text
    if text is None and inv._text_parts is not None:
        text = inv.output_text = inv.streamed_text()
    if text is not None:
        tel[sc.METRIC_RESPONSE_LENGTH].record(max(len(text), inv._text_len), metric_attributes, context=ctx)
        if settings.evaluators and inv.operation != sc.OP_EMBEDDINGS:
            _evaluation.evaluate_invocation(inv, text, span, inference_base_attributes(inv))

    capture = settings.capture
    if capture.on_span or capture.on_event:
        content = _llm_content(inv, text, settings, tel, error_type is not None)
        if capture.on_span:
            limit = settings.content_max_bytes
            end.update({key: _encode(key, value, limit, tel) for key, value in content.items()})
        if capture.on_event:
            _emit_details_event(inv, tel, end, content, error_type, settings.content_max_bytes)

    if inv.attributes:
        end.update(inv.attributes)
    if end and span.is_recording():
        span.set_attributes(end)


def _llm_content(
    inv: LLMInvocation, text: str | None, settings: _settings.Settings, tel: Telemetry, failed: bool
) -> dict[str, Any]:
    """The content attributes in the schema shapes (structured; the span gets them JSON-encoded)."""
    values = (
        (sc.GEN_AI_INPUT_MESSAGES, _content.normalize_messages(inv.input_messages) if inv.input_messages else None),
        (sc.GEN_AI_SYSTEM_INSTRUCTIONS,
         _content.system_instructions(inv.system_instructions) if inv.system_instructions else None),
        (sc.GEN_AI_TOOL_DEFINITIONS,
         _content.tool_definitions(inv.tool_definitions, settings.tool_definition_details)
         if inv.tool_definitions else None),
        (sc.GEN_AI_OUTPUT_MESSAGES, _output_messages(inv, text, failed)),
    )
    return {key: value for key, value in values if value}


def _output_messages(inv: LLMInvocation, text: str | None, failed: bool) -> Any:
    if inv.output_messages is not None:
        return _content.output_messages(inv.output_messages, inv.finish_reasons, failed)
    if text is None:
        return None
    return _content.output_messages_from_text(text, inv.finish_reasons, failed)


def _encode(key: str, value: Any, limit: int, tel: Telemetry) -> str:
    text, truncated = _content.encode(value, limit)
    if truncated:
        tel[sc.METRIC_CONTENT_TRUNCATED].add(1, {sc.LLM_OTEL_CONTENT_ATTRIBUTE: key})
    return text


def _emit_details_event(
    inv: LLMInvocation, tel: Telemetry, end: dict[str, Any], content: dict[str, Any], error_type: str | None,
    limit: int,
) -> None:
    """``gen_ai.client.inference.operation.details``: the span's attributes, with the content as
    structured values (redacted and cut like the span's) rather than JSON strings."""
    attributes = inference_base_attributes(inv)
    inv._copy_start_attributes(attributes)
    attributes.update((k, v) for k, v in end.items() if k not in content)
    if error_type:
        attributes[sc.ERROR_TYPE] = error_type
    for key, value in content.items():
        attributes[key] = json.loads(_encode(key, value, limit, tel))
    tel.logger.emit(event_name=sc.EVENT_INFERENCE_DETAILS, attributes=attributes, context=inv._context)


# -- retrieval ------------------------------------------------------------------------------------


def start_retrieval(inv: RetrievalInvocation) -> SpanStart:
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL, sc.GEN_AI_DATA_SOURCE_ID: inv.data_source}
    if inv.provider:
        attributes[sc.GEN_AI_PROVIDER_NAME] = inv.provider
    if inv.top_k is not None:
        attributes[sc.GEN_AI_RETRIEVAL_TOP_K] = int(inv.top_k)
    return f"{sc.OP_RETRIEVAL} {inv.data_source}", _CLIENT, attributes


def finish_retrieval(
    inv: RetrievalInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float
) -> None:
    metric_attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL}
    if inv.provider:
        metric_attributes[sc.GEN_AI_PROVIDER_NAME] = inv.provider
    if error_type:
        metric_attributes[sc.ERROR_TYPE] = error_type
    ctx = inv._context
    tel[sc.METRIC_OPERATION_DURATION].record(duration, metric_attributes, context=ctx)
    end: dict[str, Any] = {}
    count = inv.document_count
    if count is None and inv.documents is not None:
        count = len(inv.documents)
    if count is not None:
        end[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] = count
        tel[sc.METRIC_RETRIEVAL_DOCUMENTS].record(count, metric_attributes, context=ctx)
    settings = _settings.get()
    if settings.capture.on_span:
        limit = settings.content_max_bytes
        if inv.query:
            end[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] = _content.encode_text(inv.query, limit)
        if inv.documents is not None:
            docs = [{"id": str(doc_id), "score": score} for doc_id, score in inv.documents]
            end[sc.GEN_AI_RETRIEVAL_DOCUMENTS] = _encode(sc.GEN_AI_RETRIEVAL_DOCUMENTS, docs, limit, tel)
    if inv.attributes:
        end.update(inv.attributes)
    if end and span.is_recording():
        span.set_attributes(end)


# -- tools -----------------------------------------------------------------------------------------


def start_tool(inv: ToolInvocation) -> SpanStart:
    attributes: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: inv.name,
        sc.GEN_AI_TOOL_TYPE: inv.type,
    }
    if inv.call_id:
        attributes[sc.GEN_AI_TOOL_CALL_ID] = inv.call_id
    if inv.description:
        attributes[sc.GEN_AI_TOOL_DESCRIPTION] = inv.description
    agent = get_value(AGENT_KEY)
    if agent is not None:
        agent._tool_calls += 1  # type: ignore[attr-defined]
        if inv.agent_name is None:
            inv.agent_name = agent.name  # type: ignore[attr-defined]
    if inv.agent_name:
        attributes[sc.GEN_AI_AGENT_NAME] = inv.agent_name
    return f"{sc.OP_EXECUTE_TOOL} {inv.name}", _INTERNAL, attributes


def finish_tool(inv: ToolInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float) -> None:
    # the instrument names the operation: its points carry what the conventions list (as util-genai 1.3b0 does)
    metric_attributes: dict[str, Any] = {sc.GEN_AI_TOOL_NAME: inv.name, sc.GEN_AI_TOOL_TYPE: inv.type}
    if error_type:
        metric_attributes[sc.ERROR_TYPE] = error_type
    if inv.agent_name:
        metric_attributes[sc.GEN_AI_AGENT_NAME] = inv.agent_name
    tel[sc.METRIC_TOOL_DURATION].record(duration, metric_attributes, context=inv._context)
    end: dict[str, Any] = {}
    settings = _settings.get()
    if settings.capture.on_span:
        limit = settings.content_max_bytes
        if inv.arguments is not None:
            end[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = _encode(sc.GEN_AI_TOOL_CALL_ARGUMENTS, _content.tool_payload(inv.arguments), limit, tel)
        if inv.result is not None:
            end[sc.GEN_AI_TOOL_CALL_RESULT] = _encode(sc.GEN_AI_TOOL_CALL_RESULT, _content.tool_payload(inv.result), limit, tel)
    if inv.attributes:
        end.update(inv.attributes)
    if end and span.is_recording():
        span.set_attributes(end)


# -- agents and workflows -------------------------------------------------------------------------


def start_agent(inv: AgentInvocation) -> SpanStart:
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: inv.name}
    optional = (
        (inv.id, sc.GEN_AI_AGENT_ID),
        (inv.description, sc.GEN_AI_AGENT_DESCRIPTION),
        (inv.version, sc.GEN_AI_AGENT_VERSION),
        (inv.provider, sc.GEN_AI_PROVIDER_NAME),
        (inv.conversation_id, sc.GEN_AI_CONVERSATION_ID),
    )
    attributes.update({key: value for value, key in optional if value})
    return f"{sc.OP_INVOKE_AGENT} {inv.name}", _INTERNAL, attributes


def _finish_group(
    inv: AgentInvocation | WorkflowInvocation, metric_attributes: dict[str, Any], tel: Telemetry, span: Span,
    error_type: str | None, duration: float, histogram: sc.HistogramMetric,
) -> None:
    """Spans that group other work (agents, workflows): a duration by name, extra attributes."""
    if error_type:
        metric_attributes[sc.ERROR_TYPE] = error_type
    tel[histogram].record(duration, metric_attributes, context=inv._context)
    if inv.attributes and span.is_recording():
        span.set_attributes(inv.attributes)


def finish_agent(inv: AgentInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float) -> None:
    attributes: dict[str, Any] = {sc.GEN_AI_AGENT_NAME: inv.name}
    _finish_group(inv, attributes, tel, span, error_type, duration, sc.METRIC_AGENT_DURATION)
    per_agent = {sc.GEN_AI_AGENT_NAME: inv.name}
    tel[sc.METRIC_AGENT_INFERENCE_CALLS].record(inv._inference_calls, per_agent, context=inv._context)
    tel[sc.METRIC_AGENT_TOOL_CALLS].record(inv._tool_calls, per_agent, context=inv._context)


def finish_workflow(
    inv: WorkflowInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float
) -> None:
    attributes: dict[str, Any] = {sc.GEN_AI_WORKFLOW_NAME: inv.name}
    _finish_group(inv, attributes, tel, span, error_type, duration, sc.METRIC_WORKFLOW_DURATION)


def start_workflow(inv: WorkflowInvocation) -> SpanStart:
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.GEN_AI_WORKFLOW_NAME: inv.name}
    if inv.conversation_id:
        attributes[sc.GEN_AI_CONVERSATION_ID] = inv.conversation_id
    return f"{sc.OP_INVOKE_WORKFLOW} {inv.name}", _INTERNAL, attributes

