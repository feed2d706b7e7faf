"""Span names, kinds, attributes and nesting, as the pinned conventions say."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import llm_otel
import pytest
from llm_otel import _telemetry
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, StatusCode


def test_chat_span_name_kind_and_attributes(otel_capture):
    with llm_otel.llm_call(
        provider="openai", model="gpt-4o-mini", server_address="api.example.com", server_port=443,
        temperature=0.2, max_tokens=100, top_p=0.9, stop_sequences=["END"], seed=7, choice_count=2,
        conversation_id="conv-1",
    ) as call:
        call.response_id = "chatcmpl-1"
        call.response_model = "gpt-4o-mini-2024-07-18"
        call.finish_reasons = ["stop", "length"]
        call.input_tokens, call.output_tokens = 120, 30
        call.cache_read_input_tokens = 20
        call.reasoning_output_tokens = 5

    span = otel_capture.span("chat gpt-4o-mini")
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes)
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "api.example.com",
        "server.port": 443,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.seed": 7,
        "gen_ai.request.choice.count": 2,
        "gen_ai.conversation.id": "conv-1",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ("stop", "length"),
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 20,
        "gen_ai.usage.reasoning.output_tokens": 5,
        "llm_otel.cost.usd": pytest.approx((100 * 0.15 + 20 * 0.075 + 30 * 0.6) / 1e6),
    }


def test_choice_count_of_one_and_non_stream_are_omitted(otel_capture):
    with llm_otel.llm_call(provider="openai", model="m", choice_count=1, stream=False):
        pass
    attrs = otel_capture.span("chat m").attributes
    assert "gen_ai.request.choice.count" not in attrs
    assert "gen_ai.request.stream" not in attrs


def test_other_operations_name_their_spans(otel_capture):
    with llm_otel.llm_call(provider="openai", model="text-embedding-3-small", operation="embeddings"):
        pass
    with llm_otel.retrieval(data_source="kb", top_k=4):
        pass
    with llm_otel.tool(name="calculator", call_id="call_1", description="adds", type="function"):
        pass
    with llm_otel.agent(name="helper", id="agent-1", description="answers"):
        pass
    with llm_otel.workflow(name="rag"):
        pass
    got = {s["name"]: (s["kind"], s["attributes"]) for s in otel_capture.as_dicts()}
    assert got["embeddings text-embedding-3-small"][0] == "CLIENT"
    assert got["retrieval kb"] == ("CLIENT", {
        "gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "kb", "gen_ai.retrieval.top_k": 4})
    assert got["execute_tool calculator"] == ("INTERNAL", {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "calculator", "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": "call_1", "gen_ai.tool.description": "adds"})
    assert got["invoke_agent helper"] == ("INTERNAL", {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper", "gen_ai.agent.id": "agent-1",
        "gen_ai.agent.description": "answers"})
    assert got["invoke_workflow rag"] == ("INTERNAL", {
        "gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "rag"})


class _RecordingSampler(Sampler):
    def __init__(self):
        self.seen = []

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        self.seen.append((name, dict(attributes or {})))
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self):
        return "recording"


def test_sampler_sees_model_provider_and_server_at_start():
    sampler = _RecordingSampler()
    provider = TracerProvider(sampler=sampler)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = _telemetry.swap(_telemetry.build(provider))
    try:
        with llm_otel.llm_call(provider="anthropic", model="claude-x", server_address="h", server_port=8080):
            pass
    finally:
        _telemetry.swap(previous)
    name, attrs = sampler.seen[0]
    assert name == "chat claude-x"
    for key in ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "server.address", "server.port"):
        assert key in attrs


def test_nesting_follows_the_code(otel_capture):
    with llm_otel.workflow("rag"), llm_otel.agent("researcher"):
        with llm_otel.retrieval(data_source="kb"):
            pass
        with llm_otel.llm_call(provider="openai", model="m"):
            pass
        with llm_otel.tool(name="search"):
            pass
    for child in ("retrieval kb", "chat m", "execute_tool search"):
        otel_capture.assert_parent_chain(child, ["invoke_agent researcher", "invoke_workflow rag"])
    otel_capture.assert_parent_chain("invoke_workflow rag", [])


async def test_nesting_across_await_and_gather(otel_capture):
    @llm_otel.tool(name="lookup")
    async def lookup(key: str) -> str:
        await asyncio.sleep(0)
        return key.upper()

    @llm_otel.llm_call(provider="openai", model="m")
    async def ask(q: str) -> str:
        await asyncio.sleep(0.001)
        return f"answer to {q}"

    @llm_otel.agent(name="planner")
    async def plan():
        return await asyncio.gather(lookup("a"), lookup("b"), ask("x"), ask("y"))

    async with llm_otel.workflow("batch"):
        results = await plan()
    assert results == ["A", "B", "answer to x", "answer to y"]
    assert len(otel_capture.spans_by_operation("execute_tool")) == 2
    for span in otel_capture.spans_by_operation("execute_tool") + otel_capture.spans_by_operation("chat"):
        otel_capture.assert_parent_chain(span, ["invoke_agent planner", "invoke_workflow batch"])


def test_threads_through_the_helpers_nest_under_the_caller(otel_capture):
    def work(i: int) -> int:
        with llm_otel.llm_call(provider="openai", model=f"m{i}"):
            return i

    with llm_otel.workflow("fanout"):
        with ThreadPoolExecutor(max_workers=2) as pool:
            assert list(pool.map(llm_otel.bind_context(work), [1, 2])) == [1, 2]
        t = llm_otel.start_thread(work, 3)
        t.join()
    for i in (1, 2, 3):
        otel_capture.assert_parent_chain(f"chat m{i}", ["invoke_workflow fanout"])


def test_a_plain_thread_without_the_helper_is_not_nested(otel_capture):
    # Documents why the helper exists: a bare Thread starts from an empty context.
    def work():
        with llm_otel.llm_call(provider="openai", model="bare"):
            pass

    with llm_otel.workflow("w"):
        t = threading.Thread(target=work)
        t.start()
        t.join()
    assert otel_capture.parent_chain(otel_capture.span("chat bare")) == []


async def test_async_generator_decorator_streams_chunks_and_nests(otel_capture):
    @llm_otel.llm_call(provider="openai", model="m", stream=True)
    async def stream_answer(q: str):
        for word in ("hello", " ", "world"):
            await asyncio.sleep(0.001)
            with llm_otel.tool(name="inner"):  # work done by the generator nests under its span
                pass
            yield word

    with llm_otel.workflow("w"):
        chunks = [c async for c in stream_answer("q")]
    assert "".join(chunks) == "hello world"
    span = otel_capture.span("chat m")
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["llm_otel.stream.chunks"] == 3
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert "llm_otel.stream.ended_early" not in span.attributes
    otel_capture.assert_parent_chain(span, ["invoke_workflow w"])
    for inner in [s for s in otel_capture.spans if s.name == "execute_tool inner"]:
        otel_capture.assert_parent_chain(inner, ["chat m", "invoke_workflow w"])
    [length] = otel_capture.metric_points("llm_otel.client.response.length")
    assert length.value == len("hello world")


async def test_async_generator_closed_early_ends_span_once(otel_capture):
    @llm_otel.llm_call(provider="openai", model="m", stream=True)
    async def stream_answer():
        for i in range(100):
            yield str(i)

    agen = stream_answer()
    async for chunk in agen:
        if chunk == "2":
            break
    await agen.aclose()
    span = otel_capture.span("chat m")
    assert span.attributes["llm_otel.stream.ended_early"] is True
    assert span.attributes["llm_otel.stream.end_reason"] == "closed"
    assert span.attributes["llm_otel.stream.chunks"] == 3


def test_sync_generator_decorator(otel_capture):
    @llm_otel.retrieval(data_source="kb")
    def search(q):
        yield ("d1", 0.9)
        yield ("d2", 0.4)

    assert list(search("x")) == [("d1", 0.9), ("d2", 0.4)]
    otel_capture.span("retrieval kb")


def test_decorators_keep_function_identity_and_return_values(otel_capture):
    @llm_otel.tool(name="add", description="adds numbers")
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    assert add(2, 3) == 5
    assert add.__name__ == "add" and add.__doc__ == "Add two numbers."
    assert add(1, 1) == 2
    assert len(otel_capture.spans_by_operation("execute_tool")) == 2  # one span per call


def test_retrieval_decorator_reads_documents_from_return_value(otel_capture):
    @llm_otel.retrieval(data_source="kb", top_k=2)
    def search(q: str):
        return [{"id": "doc-1", "score": 0.9}, {"id": "doc-2", "score": 0.5}]

    search("what")
    span = otel_capture.span("retrieval kb")
    assert span.attributes["llm_otel.retrieval.document_count"] == 2
    assert "gen_ai.retrieval.documents" not in span.attributes  # content is opt-in
    [docs] = otel_capture.metric_points("llm_otel.retrieval.documents")
    assert docs.value == 2


def test_current_invocation_inside_a_decorated_function(otel_capture):
    @llm_otel.llm_call(provider="openai", model="m")
    def ask():
        call = llm_otel.current_invocation()
        call.input_tokens, call.output_tokens = 3, 4
        return "ok"

    assert llm_otel.current_invocation() is None
    ask()
    assert otel_capture.span("chat m").attributes["gen_ai.usage.output_tokens"] == 4


def test_unknown_request_parameter_is_logged_not_raised(otel_capture, caplog):
    # issue 10 row 11: a typo never raises into the app (it did: TypeError); it is logged and counted
    with llm_otel.llm_call(provider="openai", model="m", temprature=0.1, temperature=0.2) as call:
        call.output_tokens = 1
    span = otel_capture.span("chat m")
    assert span.attributes["gen_ai.request.temperature"] == 0.2
    assert "temprature" in caplog.text
    [point] = otel_capture.metric_points("llm_otel.instrumentation.errors", {"llm_otel.error.stage": "unknown_field"})
    assert point.value == 1


def test_invocation_field_typos_are_logged_not_raised(otel_capture, caplog):
    # issue 10 row 11: a misspelt field is kept on the object, logged once and counted, never raised
    with llm_otel.llm_call(provider="openai", model="m") as call:
        call.input_token = 3
        call.output_tokens = 4
    assert call.input_token == 3
    assert otel_capture.span("chat m").attributes["gen_ai.usage.output_tokens"] == 4
    assert "input_token" in caplog.text
