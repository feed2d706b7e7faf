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
import traceback
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach, detach, get_value, set_value
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, get_current_span, set_span_in_context

from llm_otel import _content, _evaluation, _limits, _pricing, _settings, _telemetry
from llm_otel import _semconv as sc
from llm_otel._keys import AGENT_KEY, FINISHED, INVOCATION_KEY, NEW, STARTED
from llm_otel._limits import name as _name
from llm_otel._limits import text as _text
from llm_otel._redaction import redact
from llm_otel._safety import report, unknown_fields

if TYPE_CHECKING:  # the invocation modules import this one: types only, no import cycle
    from llm_otel._agent import AgentInvocation, CreateAgentInvocation, WorkflowInvocation
    from llm_otel._db import DbInvocation
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
            if inv._end_reason is not None and type(inv)._span_start is not start_llm and span.is_recording():
                span.set_attributes({sc.LLM_OTEL_ENDED_EARLY: True, sc.LLM_OTEL_END_REASON: inv._end_reason})
    except Exception as internal:
        report("finish", internal)
    finally:
        if inv.__dict__:  # names that are no field (a typo): kept on the object, reported, never raised
            unknown_fields(type(inv).__name__, inv.__dict__)
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
        # GeneratorExit, CancelledError, KeyboardInterrupt: an early end. A consumer closing a generator
        # and a cancelled model call (as its stream) are not failures; a tool, agent, workflow or retrieval
        # that did not complete is (error.type = the exception's name).
        inv.end_early("closed" if isinstance(exc, GeneratorExit) else type(exc).__name__.lower())
        if isinstance(exc, GeneratorExit) or type(inv)._span_start is start_llm:
            exc = None
    error_type = inv.error_type
    if exc is not None and error_type is None:
        error_type = type(exc).__qualname__ or sc.ERROR_TYPE_OTHER
    if error_type is None:
        return None
    error_type = _name(error_type)
    if span.is_recording():
        description = error_type
        if exc is not None:
            capture = _settings.get().capture
            message = exception_message(exc) if capture.on_span or capture.on_event else None
            _record_exception(span, exc, message)
            description = message or error_type
        span.set_status(Status(StatusCode.ERROR, description))
        span.set_attribute(sc.ERROR_TYPE, error_type)
    return error_type


EXCEPTION_MESSAGE_MAX_CHARS = 1024
STACKTRACE_MAX_CHARS = 8192


def exception_message(exc: BaseException) -> str | None:
    """The exception's text, cut then redacted (content capture on); None if its ``__str__`` fails."""
    try:
        raw = str(exc)
    except Exception:
        return None
    return redact(_limits.clean(raw[:EXCEPTION_MESSAGE_MAX_CHARS])) if isinstance(raw, str) and raw else None


def _record_exception(span: Span, exc: BaseException, message: str | None) -> None:
    """The ``exception`` event: type and stack frames always; the message only when content capture is on
    (it often quotes arguments). Frames are code, never values; the newest ``STACKTRACE_MAX_CHARS`` kept."""
    kind = type(exc).__qualname__
    try:
        frames = "".join(traceback.format_tb(exc.__traceback__))
    except Exception:
        frames = ""
    stack = _limits.clean(f"Traceback (most recent call last):\n{frames}{kind}"[-STACKTRACE_MAX_CHARS:])
    attributes: dict[str, Any] = {sc.EXCEPTION_TYPE: kind, sc.EXCEPTION_STACKTRACE: stack, sc.EXCEPTION_ESCAPED: True}
    if message:
        attributes[sc.EXCEPTION_MESSAGE] = message
    span.add_event(sc.EXCEPTION_EVENT, attributes)


# -- streaming chunks -----------------------------------------------------------------------


def first_chunk(inv: LLMInvocation, now: float) -> None:
    try:
        attributes = llm_metric_attributes(inv, None)
        if _settings.get().time_per_output_chunk:
            inv._chunk_attributes = attributes  # reused for every later chunk; None: no per-chunk points
        _telemetry.current()[sc.METRIC_TIME_TO_FIRST_CHUNK].record(
            now - inv._start, attributes, context=inv._context
        )
    except Exception as exc:
        report("chunk", exc)


def next_chunk(inv: LLMInvocation, gap: float, attributes: dict[str, Any]) -> None:
    try:
        _telemetry.current()[sc.METRIC_TIME_PER_OUTPUT_CHUNK].record(gap, attributes, context=inv._context)
    except Exception as exc:
        report("chunk", exc)


# -- inference --------------------------------------------------------------------------------


def start_llm(inv: LLMInvocation) -> SpanStart:
    operation = inv.operation = _name(inv.operation) if inv.operation else sc.OP_CHAT
    provider = inv.provider = _name(inv.provider) if inv.provider else sc.LABEL_OTHER
    model = inv.model = _name(inv.model) if inv.model else None
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation, sc.GEN_AI_PROVIDER_NAME: provider}
    if model:
        attributes[sc.GEN_AI_REQUEST_MODEL] = model
    inv._copy_start_attributes(attributes)
    agent = get_value(AGENT_KEY)
    if agent is not None:
        agent._inference_calls += 1  # type: ignore[attr-defined]
    return (f"{operation} {model}" if model else operation), _CLIENT, attributes


def _late_request_attributes(inv: LLMInvocation, span: Span, out: dict[str, Any]) -> None:
    """Request fields set after the span started (merged by the duplicate guard, or set by a framework
    once it knew them): the span gets them at the end, and its name the model it learnt."""
    inv._copy_start_attributes(out)
    if inv.model:
        out[sc.GEN_AI_REQUEST_MODEL] = inv.model = _name(inv.model)
        if getattr(span, "name", None) == inv.operation and span.is_recording():
            span.update_name(f"{inv.operation} {inv.model}")


def inference_base_attributes(inv: LLMInvocation) -> dict[str, Any]:
    """Operation, provider and model: what every metric point about an inference carries."""
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: inv.operation, sc.GEN_AI_PROVIDER_NAME: inv.provider}
    if inv.model:
        attributes[sc.GEN_AI_REQUEST_MODEL] = inv.model
    return attributes


def llm_metric_attributes(inv: LLMInvocation, error_type: str | None, tel: Telemetry | None = None) -> dict[str, Any]:
    """The attributes of the inference metrics (duration, tokens, cost, chunks), through the cardinality
    guard (``_limits``): a shared dict, never modify it. Order: ``_telemetry.INFERENCE_KEYS``."""
    return (tel or _telemetry.current()).inference(
        (inv.operation, inv.provider, inv.model, inv.response_model, inv.server_address, inv.server_port, error_type)
    )


def finish_llm(inv: LLMInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float) -> None:
    settings = _settings.get()
    end: dict[str, Any] = {}
    _late_request_attributes(inv, span, end)
    inv._copy_end_attributes(end)  # the response fields that have their declared type (others: counted, left out)
    metric_attributes = llm_metric_attributes(inv, error_type, tel)
    ctx = inv._context  # every point's exemplar links to this call's span, wherever the call ends
    tel[sc.METRIC_OPERATION_DURATION].record(duration, metric_attributes, context=ctx)

    input_tokens, output_tokens = end.get(sc.GEN_AI_USAGE_INPUT_TOKENS), end.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
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
    cost = end.get(sc.LLM_OTEL_COST_USD)
    if cost is None and inv.cost_usd is None and (input_tokens or output_tokens):
        rates = _pricing.rates_for(inv.provider, end.get(sc.GEN_AI_RESPONSE_MODEL) or inv.model or "", settings.prices_file)
        if rates is None:
            tel[sc.METRIC_UNPRICED].add(1, metric_attributes, context=ctx)
        else:
            cost = inv.cost_usd = end[sc.LLM_OTEL_COST_USD] = rates.cost(
                input_tokens or 0,
                output_tokens or 0,
                end.get(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS) or 0,
                end.get(sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS) or 0,
            )
    if cost is not None:
        tel[sc.METRIC_COST].add(cost, metric_attributes, context=ctx)

    if inv._chunks and inv._first_chunk is not None:
        end[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = inv._first_chunk - inv._start
        end[sc.LLM_OTEL_STREAM_CHUNKS] = inv._chunks
    if inv._end_reason is not None:
        end[sc.LLM_OTEL_STREAM_ENDED_EARLY] = True
        end[sc.LLM_OTEL_STREAM_END_REASON] = inv._end_reason

    text = inv.output_text
    if text is not None and text.__class__ is not str:
        text = None
        _limits.rejected("output_text", sc.REJECTED_TYPE)
    if text is None and inv._text_parts is not None:
        text = inv.output_text = inv.streamed_text()
    if text is not None:
        tel[sc.METRIC_RESPONSE_LENGTH].record(max(len(text), inv._text_len), metric_attributes, context=ctx)
        if settings.evaluators and inv.operation != sc.OP_EMBEDDINGS:
            _evaluation.evaluate_invocation(inv, text, span, inference_base_attributes(inv))

    capture = settings.capture
    if capture.on_span or capture.on_event:
        try:
            content = _llm_content(inv, text, settings, tel, error_type is not None)
        except Exception:  # a message structure that cannot be read costs the content only
            _limits.rejected("messages", sc.REJECTED_TYPE)
            content = {}
        if capture.on_span:
            limit = settings.content_max_bytes
            end.update({key: _encode(key, value, limit, tel) for key, value in content.items()})
        if capture.on_event:
            _emit_details_event(inv, tel, end, content, error_type, settings.content_max_bytes)

    if inv.attributes:
        end.update(_limits.clean_attributes(inv.attributes))
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


CONTENT_NOT_ENCODABLE = "[llm_otel: content not encodable]"


def _encode(key: str, value: Any, limit: int, tel: Telemetry, jsonable: bool = False) -> str:
    """Content as redacted JSON within ``limit`` (``jsonable``: a tool payload, made an object where it can be); content that cannot be encoded (nested beyond the
    recursion limit, a failing ``model_dump``) costs that attribute only: a marker, counted."""
    try:
        text, truncated = _content.encode(_content.tool_payload(value) if jsonable else value, limit)
    except Exception:
        _limits.rejected(key, sc.REJECTED_TYPE)
        return CONTENT_NOT_ENCODABLE
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
        encoded = _encode(key, value, limit, tel)
        attributes[key] = encoded if encoded is CONTENT_NOT_ENCODABLE else json.loads(encoded)
    tel.logger.emit(event_name=sc.EVENT_INFERENCE_DETAILS, attributes=attributes, context=inv._context)


# -- retrieval ------------------------------------------------------------------------------------


def start_retrieval(inv: RetrievalInvocation) -> SpanStart:
    source = inv.data_source = _name(inv.data_source)
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL, sc.GEN_AI_DATA_SOURCE_ID: source}
    if inv.provider:
        attributes[sc.GEN_AI_PROVIDER_NAME] = inv.provider = _name(inv.provider)
    if inv.top_k is not None:
        top_k = _limits.count(inv.top_k, "top_k")
        if top_k is not None:
            attributes[sc.GEN_AI_RETRIEVAL_TOP_K] = top_k
    return f"{sc.OP_RETRIEVAL} {source}", _CLIENT, attributes


def finish_retrieval(
    inv: RetrievalInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float
) -> None:
    metric_attributes = tel.retrieval((sc.OP_RETRIEVAL, inv.provider, error_type))
    ctx = inv._context
    tel[sc.METRIC_OPERATION_DURATION].record(duration, metric_attributes, context=ctx)
    end: dict[str, Any] = {}
    count = _limits.count(inv.document_count, "document_count") if inv.document_count is not None else None
    documents = _document_pairs(inv.documents) if inv.documents is not None else None
    if count is None and documents is not None:
        count = len(documents)
    if count is not None:
        end[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] = count
        tel[sc.METRIC_RETRIEVAL_DOCUMENTS].record(count, metric_attributes, context=ctx)
    settings = _settings.get()
    if settings.capture.on_span:
        limit = settings.content_max_bytes
        if inv.query:
            end[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] = _content.encode_text(_text(inv.query, limit + 1), limit)
        if documents is not None:
            # ids are content (they may hold an e-mail or a name): cut and redacted here, as _content
            # keeps an "id" as structure
            docs = [{"id": redact(_text(doc_id, _limits.NAME_MAX_CHARS)), "score": score} for doc_id, score in documents]
            end[sc.GEN_AI_RETRIEVAL_DOCUMENTS] = _encode(sc.GEN_AI_RETRIEVAL_DOCUMENTS, docs, limit, tel)
    if inv.attributes:
        end.update(_limits.clean_attributes(inv.attributes))
    if end and span.is_recording():
        span.set_attributes(end)


def _document_pairs(documents: Any) -> list[tuple[Any, float | None]]:
    """The (id, score) pairs that have that shape; the others are counted and left out."""
    pairs: list[tuple[Any, float | None]] = []
    try:
        for item in documents:
            try:
                doc_id, score = item
                pairs.append((doc_id, None if score is None else float(score)))
            except Exception:
                _limits.rejected("documents", sc.REJECTED_TYPE)
    except Exception:
        _limits.rejected("documents", sc.REJECTED_TYPE)
    return pairs


# -- tools -----------------------------------------------------------------------------------------


def start_tool(inv: ToolInvocation) -> SpanStart:
    attributes: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: (name := _name(inv.name)),
        sc.GEN_AI_TOOL_TYPE: _name(inv.type) if inv.type else sc.TOOL_TYPE_FUNCTION,
    }
    inv.name, inv.type = name, attributes[sc.GEN_AI_TOOL_TYPE]
    if inv.call_id:
        attributes[sc.GEN_AI_TOOL_CALL_ID] = _name(inv.call_id)
    if inv.description:
        attributes[sc.GEN_AI_TOOL_DESCRIPTION] = _text(inv.description)
    agent = get_value(AGENT_KEY)
    if agent is not None:
        agent._tool_calls += 1  # type: ignore[attr-defined]
        if inv.agent_name is None:
            inv.agent_name = agent.name  # type: ignore[attr-defined]
    if inv.agent_name:
        attributes[sc.GEN_AI_AGENT_NAME] = inv.agent_name = _name(inv.agent_name)
    return f"{sc.OP_EXECUTE_TOOL} {name}", inv.kind, attributes


def finish_tool(inv: ToolInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float) -> None:
    metric_attributes = tel.tool((inv.name, inv.type, error_type, inv.agent_name))
    tel[sc.METRIC_TOOL_DURATION].record(duration, metric_attributes, context=inv._context)
    end: dict[str, Any] = {}
    settings = _settings.get()
    if settings.capture.on_span:
        limit = settings.content_max_bytes
        if inv.arguments is not None:
            end[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = _encode(sc.GEN_AI_TOOL_CALL_ARGUMENTS, inv.arguments, limit, tel, True)
        if inv.result is not None:
            end[sc.GEN_AI_TOOL_CALL_RESULT] = _encode(sc.GEN_AI_TOOL_CALL_RESULT, inv.result, limit, tel, True)
    if inv.attributes:
        end.update(_limits.clean_attributes(inv.attributes))
    if end and span.is_recording():
        span.set_attributes(end)


# -- agents and workflows -------------------------------------------------------------------------


def start_agent(inv: AgentInvocation) -> SpanStart:
    name = inv.name = _name(inv.name)
    if inv.provider:
        inv.provider = _name(inv.provider)
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: name}
    optional = (
        (inv.id, sc.GEN_AI_AGENT_ID),
        (inv.description, sc.GEN_AI_AGENT_DESCRIPTION),
        (inv.version, sc.GEN_AI_AGENT_VERSION),
        (inv.provider, sc.GEN_AI_PROVIDER_NAME),
        (inv.conversation_id, sc.GEN_AI_CONVERSATION_ID),
    )
    attributes.update({key: _text(value) for value, key in optional if value})
    return f"{sc.OP_INVOKE_AGENT} {name}", _INTERNAL, attributes


def start_create_agent(inv: CreateAgentInvocation) -> SpanStart:
    name = inv.name = _name(inv.name)
    provider = inv.provider = _name(inv.provider) if inv.provider else sc.LABEL_OTHER
    attributes: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CREATE_AGENT, sc.GEN_AI_PROVIDER_NAME: provider, sc.GEN_AI_AGENT_NAME: name,
    }
    optional = (
        (inv.model, sc.GEN_AI_REQUEST_MODEL),
        (inv.description, sc.GEN_AI_AGENT_DESCRIPTION),
        (inv.version, sc.GEN_AI_AGENT_VERSION),
    )
    attributes.update({key: _text(value) for value, key in optional if value})
    return f"{sc.OP_CREATE_AGENT} {name}", _CLIENT, attributes


def finish_create_agent(
    inv: CreateAgentInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float
) -> None:
    model = _name(inv.model) if inv.model else None
    attributes = tel.inference((sc.OP_CREATE_AGENT, inv.provider, model, None, None, None, error_type))
    tel[sc.METRIC_OPERATION_DURATION].record(duration, attributes, context=inv._context)
    if span.is_recording():
        if inv.id:
            span.set_attribute(sc.GEN_AI_AGENT_ID, _text(inv.id))
        if inv.attributes:
            span.set_attributes(_limits.clean_attributes(inv.attributes))


def _finish_group(
    inv: AgentInvocation | WorkflowInvocation, metric_attributes: dict[str, Any], tel: Telemetry, span: Span,
    duration: float, histogram: sc.HistogramMetric,
) -> None:
    """Spans that group other work (agents, workflows): a duration by name, extra attributes."""
    tel[histogram].record(duration, metric_attributes, context=inv._context)
    if inv.attributes and span.is_recording():
        span.set_attributes(_limits.clean_attributes(inv.attributes))


def finish_agent(inv: AgentInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float) -> None:
    attributes = tel.agent((inv.name, error_type))
    _finish_group(inv, attributes, tel, span, duration, sc.METRIC_AGENT_DURATION)
    per_agent = tel.agent_calls((inv.name,))
    tel[sc.METRIC_AGENT_INFERENCE_CALLS].record(inv._inference_calls, per_agent, context=inv._context)
    tel[sc.METRIC_AGENT_TOOL_CALLS].record(inv._tool_calls, per_agent, context=inv._context)


def finish_workflow(
    inv: WorkflowInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float
) -> None:
    attributes = tel.workflow((inv.name, error_type))
    _finish_group(inv, attributes, tel, span, duration, sc.METRIC_WORKFLOW_DURATION)


def start_workflow(inv: WorkflowInvocation) -> SpanStart:
    name = inv.name = _name(inv.name)
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.GEN_AI_WORKFLOW_NAME: name}
    if inv.conversation_id:
        attributes[sc.GEN_AI_CONVERSATION_ID] = _name(inv.conversation_id)
    return f"{sc.OP_INVOKE_WORKFLOW} {name}", _INTERNAL, attributes


# -- database client operations (vector-store writes; issue 12) -------------------------------------


def _db_attributes(inv: DbInvocation) -> dict[str, Any]:
    attributes: dict[str, Any] = {sc.DB_SYSTEM_NAME: inv.system, sc.DB_OPERATION_NAME: inv.operation}
    if inv.collection:
        attributes[sc.DB_COLLECTION_NAME] = inv.collection
    return attributes


def start_db(inv: DbInvocation) -> SpanStart:
    name = f"{inv.operation} {inv.collection}" if inv.collection else inv.operation
    return name, _CLIENT, _db_attributes(inv)


def finish_db(inv: DbInvocation, tel: Telemetry, span: Span, error_type: str | None, duration: float) -> None:
    metric_attributes = _db_attributes(inv)
    if error_type:
        metric_attributes[sc.ERROR_TYPE] = error_type
    tel[sc.METRIC_DB_CLIENT_OPERATION_DURATION].record(duration, metric_attributes, context=inv._context)
    if inv.attributes and span.is_recording():
        span.set_attributes(inv.attributes)
