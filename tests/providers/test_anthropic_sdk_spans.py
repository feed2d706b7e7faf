"""anthropic >= 2.x emits its own CLIENT span per call: with our instrumentor on, ours replaces it (one span)."""

from __future__ import annotations

import anthropic
from llm_otel.instrumentors.anthropic import AnthropicInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def _call(llm_server, provider: TracerProvider) -> None:
    client = anthropic.Anthropic(base_url=llm_server.anthropic_base_url, api_key="sk-test", max_retries=0,
                                 open_telemetry={"tracer_provider": provider})
    client.messages.create(model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}])


def test_one_span_per_call_while_instrumented_and_the_sdk_span_back_after(llm_server):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        _call(llm_server, provider)
    finally:
        instrumentor.uninstrument()
    spans = exporter.get_finished_spans()
    assert [s.instrumentation_scope.name for s in spans] == ["llm_otel"], [s.name for s in spans]
    assert spans[0].name == "chat claude-haiku-4-5"

    exporter.clear()
    _call(llm_server, provider)  # uninstrumented: the SDK's own span is back, ours is gone
    scopes = [s.instrumentation_scope.name for s in exporter.get_finished_spans()]
    assert "llm_otel" not in scopes and len(scopes) == 1, scopes
