"""One LLM call = one LLM span and one set of metric points, however many layers record it."""

from __future__ import annotations

import llm_otel
from opentelemetry.trace import SpanKind


def test_manual_llm_call_around_the_sdk_call_merges_into_one_span(instrumented, openai_client):
    with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:  # e.g. a framework's own span
        reply = openai_client.chat.completions.create(model="gpt-4o-mini", temperature=0.1,
                                                      messages=[{"role": "user", "content": "hi"}])
    [span] = instrumented.spans_by_operation("chat")
    # the SDK's details filled the open invocation instead of starting a second span
    assert call.output_tokens == reply.usage.completion_tokens
    assert span.attributes["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens
    assert span.attributes["gen_ai.response.id"] == reply.id
    assert instrumented.metric_point("gen_ai.client.operation.duration").count == 1
    assert instrumented.metric_point("gen_ai.client.token.usage", {"gen_ai.token.type": "output"}).count == 1
    assert instrumented.metric_point("llm_otel.client.cost").value == call.cost_usd


def test_merged_stream_fills_the_outer_invocation(instrumented, openai_client):
    with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
        stream = openai_client.chat.completions.create(model="gpt-4o-mini", stream=True, stream_options={"include_usage": True},
                                                       messages=[{"role": "user", "content": "hi"}])
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    [span] = instrumented.spans_by_operation("chat")
    assert span.attributes["llm_otel.stream.chunks"] >= 1 and call.output_text == text
    assert instrumented.metric_point("gen_ai.client.operation.time_to_first_chunk").count == 1


def test_another_instrumentations_llm_span_suppresses_ours(instrumented, openai_client):
    tracer = instrumented.tracer_provider.get_tracer("some.framework")
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT,
                                      attributes={"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert len(instrumented.spans) == 1  # only the framework's
    assert instrumented.metric_points("gen_ai.client.operation.duration") == []


def test_guard_does_not_leak_into_unrelated_nested_work(instrumented, openai_client):
    # a tool run inside a model call (an agent loop) makes its own model call: that one is separate
    with llm_otel.llm_call(provider="openai", model="planner-model"), llm_otel.tool(name="summarize"):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "inner"}])
    names = sorted(s.name for s in instrumented.spans)
    assert names == ["chat gpt-4o-mini", "chat planner-model", "execute_tool summarize"]
    instrumented.assert_parent_chain("chat gpt-4o-mini", ["execute_tool summarize", "chat planner-model"])
    # and a non-LLM span of another library does not switch ours off
    tracer = instrumented.tracer_provider.get_tracer("http.client")
    with tracer.start_as_current_span("GET /"):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}])
    assert len(instrumented.spans_by_operation("chat")) == 3


def test_sequential_calls_after_a_merge_are_independent(instrumented, openai_client):
    with llm_otel.llm_call(provider="openai", model="gpt-4o-mini"):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "a"}])
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "b"}])
    assert len(instrumented.spans_by_operation("chat")) == 2
