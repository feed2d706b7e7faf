"""Benchmark processes: each configuration set up once, warmed up, then forked children making N calls.

    python benchmarks/scenarios.py SCENARIO[@VARIANT:CALLS,...] ... [--timed]
    python benchmarks/scenarios.py openai/llm_otel@plain:0,plain:20,stream:10,long:1

One batch process imports what every configuration shares (the provider SDKs, the OTel SDK,
the fake transport), then forks one process per configuration (``SCENARIO``), which imports
and sets up only its own instrumentation, warms up, and forks one child per counted run. The
drivers (``bench_core.py``, ``bench_providers.py``, via ``_measure.py``) run the batch under
valgrind's cachegrind and take, per configuration, (Ir(N calls) - Ir(0 calls)) / N: both
children start from the same memory and the same instruction count, so interpreter start,
imports, instrument(), warm-up and the final flush cancel out; the call, the spans it leaves
for export (flushed in the child) and the garbage collection it causes stay in.

The SDK set-up is the same everywhere: TracerProvider + BatchSpanProcessor into a no-op
exporter, MeterProvider + InMemoryMetricReader, LoggerProvider. The LLM is the local one, in
process (``LocalLLMTransport2``: no sockets). The warm-up makes the same calls whatever is
then counted (non-streaming, streaming and one long stream).

Variants: ``plain`` (non-streaming), ``stream`` (the same prompt streamed, whole stream
consumed), ``long`` (a prompt whose streamed answer is cut at 120 tokens: ~8x the chunks; the
per-chunk cost is the extra cost of ``long`` over ``stream`` per extra chunk).

Scenario names: ``core/*`` (no provider call: the recorder against the SDK by hand),
``openai/*``, ``anthropic/*`` (a provider SDK call under each instrumentation), and
``startup/*`` (no call: the import and instrument() cost, against ``startup/baseline``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
ANTHROPIC_MAX_TOKENS = MAX_TOKENS = 120  # every call; caps the long answer at ~120 chunks
PROMPTS = {"plain": "Say hello in five words", "stream": "Say hello in five words",
           "long": "Say hello in five words, long"}
WARMUP = {"plain": 5, "stream": 5, "long": 1}
CONTENT_OFF_ENV = {"TRACELOOP_TRACE_CONTENT": "false"}  # OpenLLMetry captures content unless told not to


# ============================================================================ SDK set-up


class Sdk:
    """The SDK providers every scenario writes to, installed as the globals."""

    def __init__(self) -> None:
        from opentelemetry import _logs, metrics, trace
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        sdk = self

        class NoOpExporter(SpanExporter):
            def export(self, spans: Any) -> Any:
                sdk.spans += len(spans)
                sdk.last_span = spans[-1]
                return SpanExportResult.SUCCESS

        self.spans = 0
        self.last_span: Any = None
        self.tracer_provider = TracerProvider()
        # exports happen at flush (after the counted calls, in the calling thread): the export thread
        # never wakes in between, so neither thread interleaving nor a timer (valgrind runs ~50x
        # slower than native) changes the count
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(NoOpExporter(), max_queue_size=1 << 16, max_export_batch_size=1 << 16,
                               schedule_delay_millis=3_600_000)
        )
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.logger_provider = LoggerProvider()
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        _logs.set_logger_provider(self.logger_provider)

    def flush(self) -> None:
        self.tracer_provider.force_flush()

    def metric_names(self) -> list[str]:
        data = self.reader.get_metrics_data()
        return sorted({m.name for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics
                       for m in sm.metrics})


# ============================================================================ core: no provider call


def _floor_instruments() -> dict[str, Any]:
    from llm_otel import _semconv as sc
    from opentelemetry import metrics

    meter = metrics.get_meter("floor")

    def histogram(name: str, unit: str, buckets: Any = None) -> Any:
        advisory = list(buckets) if buckets else None
        return meter.create_histogram(name, unit=unit, explicit_bucket_boundaries_advisory=advisory)

    return {
        "duration": histogram(sc.METRIC_OPERATION_DURATION, "s", sc.DURATION_BUCKETS),
        "tokens": histogram(sc.METRIC_TOKEN_USAGE, "{token}", sc.TOKEN_BUCKETS),
        "ttfc": histogram(sc.METRIC_TIME_TO_FIRST_CHUNK, "s", sc.DURATION_BUCKETS),
        "tpoc": histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK, "s", sc.DURATION_BUCKETS),
        "length": histogram(sc.METRIC_RESPONSE_LENGTH, "{char}", sc.RESPONSE_LENGTH_BUCKETS),
        "cost": meter.create_counter(sc.METRIC_COST, unit="{USD}"),
        "unpriced": meter.create_counter(sc.METRIC_UNPRICED, unit="{call}"),
        "unreported": meter.create_counter(sc.METRIC_USAGE_UNREPORTED, unit="{call}"),
    }


def core_floor(variant: str) -> Callable[[], Any]:
    """The span (5 start + 6 end attributes, current while recording) and 4 metric points, by hand."""
    from llm_otel import _semconv as sc
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    tracer = trace.get_tracer("floor")
    m = _floor_instruments()
    perf = time.perf_counter
    start_attrs = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai",
                   sc.GEN_AI_REQUEST_MODEL: OPENAI_MODEL, sc.SERVER_ADDRESS: "api.openai.com", sc.SERVER_PORT: 443}

    def call() -> None:
        t0 = perf()
        with tracer.start_as_current_span(f"chat {OPENAI_MODEL}", kind=SpanKind.CLIENT, attributes=start_attrs) as span:
            attrs = {**start_attrs, sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18"}
            m["duration"].record(perf() - t0, attrs)
            m["tokens"].record(100, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
            m["tokens"].record(20, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
            usd = (100 * 0.15 + 20 * 0.6) / 1e6
            m["cost"].add(usd, attrs)
            span.set_attributes({
                sc.GEN_AI_USAGE_INPUT_TOKENS: 100, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 20, sc.LLM_OTEL_COST_USD: usd,
                sc.GEN_AI_RESPONSE_ID: "chatcmpl-1", sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
                sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
            })

    return call


def _core_llm_call(output_text: str | None) -> Callable[[], Any]:
    import llm_otel

    def call() -> None:
        with llm_otel.llm_call(provider="openai", model=OPENAI_MODEL, server_address="api.openai.com",
                               server_port=443) as c:
            c.response_id = "chatcmpl-1"
            c.response_model = "gpt-4o-mini-2024-07-18"
            c.finish_reasons = ["stop"]
            c.input_tokens = 100
            c.output_tokens = 20
            if output_text is not None:
                c.output_text = output_text

    return call


def core_llm_call(variant: str) -> Callable[[], Any]:
    return _core_llm_call(None)


def core_llm_call_evaluators(variant: str) -> Callable[[], Any]:
    """The same call with output text and the four built-in evaluators on (off by default)."""
    os.environ["LLM_OTEL_EVALUATORS"] = "all"
    from llm_otel import _settings

    _settings.reload()
    return _core_llm_call("I think the capital of France is probably Paris, a great city.")


# ============================================================================ OpenAI


def _openai_client() -> Any:
    import httpx2
    import openai
    from llm_otel_tools.local_llm.transport import LocalLLMTransport2

    return openai.OpenAI(base_url="http://local/v1", api_key="x", max_retries=0,
                         http_client=httpx2.Client(transport=LocalLLMTransport2()))


def openai_bare(variant: str) -> Callable[[], Any]:
    create = _openai_client().chat.completions.create
    messages = [{"role": "user", "content": PROMPTS[variant]}]
    if variant == "plain":
        return lambda: create(model=OPENAI_MODEL, max_completion_tokens=MAX_TOKENS, messages=messages)

    def call() -> None:
        for _ in create(model=OPENAI_MODEL, max_completion_tokens=MAX_TOKENS, messages=messages, stream=True):
            pass

    return call


def openai_floor(variant: str) -> Callable[[], Any]:
    """The bare call plus, by hand, the span and metric points llm_otel's instrumentor produces.

    Non-streaming: span "chat gpt-4o-mini" (CLIENT, current during the call) with 7 start and
    10 end attributes; operation duration, input and output token usage, cost, response length.
    Streaming (no usage in the stream: llm_otel leaves stream_options alone by default): 8 start
    and 7 end attributes, time to first chunk, one time-per-output-chunk point per later chunk,
    operation duration, response length and the usage-unreported count.
    """
    from llm_otel import _semconv as sc
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    tracer = trace.get_tracer("floor")
    m = _floor_instruments()
    create = _openai_client().chat.completions.create
    messages = [{"role": "user", "content": PROMPTS[variant]}]
    perf = time.perf_counter
    name = f"chat {OPENAI_MODEL}"
    start_attrs = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai",
                   sc.GEN_AI_REQUEST_MODEL: OPENAI_MODEL, sc.SERVER_ADDRESS: "local", sc.SERVER_PORT: 80}
    span_start = {**start_attrs, sc.GEN_AI_REQUEST_MAX_TOKENS: MAX_TOKENS,
                  sc.OPENAI_API_TYPE: sc.OPENAI_API_TYPE_CHAT_COMPLETIONS}
    price_in, price_out = 0.15e-6, 0.6e-6

    def call() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=span_start) as span:
            r = create(model=OPENAI_MODEL, max_completion_tokens=MAX_TOKENS, messages=messages)
            usage = r.usage
            inp, out = usage.prompt_tokens, usage.completion_tokens
            usd = inp * price_in + out * price_out
            attrs = {**start_attrs, sc.GEN_AI_RESPONSE_MODEL: r.model}
            m["duration"].record(perf() - t0, attrs)
            m["tokens"].record(inp, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
            m["tokens"].record(out, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
            m["cost"].add(usd, attrs)
            m["length"].record(len(r.choices[0].message.content or ""), attrs)
            span.set_attributes({
                sc.GEN_AI_USAGE_INPUT_TOKENS: inp,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: out,
                sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.prompt_tokens_details.cached_tokens,
                sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: usage.completion_tokens_details.reasoning_tokens,
                sc.LLM_OTEL_COST_USD: usd,
                sc.GEN_AI_RESPONSE_ID: r.id,
                sc.GEN_AI_RESPONSE_MODEL: r.model,
                sc.GEN_AI_RESPONSE_FINISH_REASONS: [c.finish_reason for c in r.choices],
                sc.OPENAI_RESPONSE_SERVICE_TIER: r.service_tier,
                sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: r.system_fingerprint,
            })

    stream_start_attrs = {**span_start, sc.GEN_AI_REQUEST_STREAM: True}

    def call_stream() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=stream_start_attrs) as span:
            first = last = None
            attrs: dict[str, Any] = {}
            chunks = chars = 0
            finish = []
            response_id = fingerprint = tier = None
            for chunk in create(model=OPENAI_MODEL, max_completion_tokens=MAX_TOKENS, messages=messages, stream=True):
                now = perf()
                chunks += 1
                if first is None:
                    first = now
                    attrs = {**start_attrs, sc.GEN_AI_RESPONSE_MODEL: chunk.model}
                    m["ttfc"].record(now - t0, attrs)
                else:
                    m["tpoc"].record(now - last, attrs)
                last = now
                response_id, fingerprint, tier = chunk.id, chunk.system_fingerprint, chunk.service_tier
                for choice in chunk.choices:
                    if choice.delta.content:
                        chars += len(choice.delta.content)
                    if choice.finish_reason:
                        finish.append(choice.finish_reason)
            m["duration"].record(perf() - t0, attrs)
            m["length"].record(chars, attrs)
            m["unreported"].add(1, attrs)  # no usage in the stream (stream_options left alone): counted
            span.set_attributes({
                sc.GEN_AI_RESPONSE_ID: response_id,
                sc.GEN_AI_RESPONSE_MODEL: attrs[sc.GEN_AI_RESPONSE_MODEL],
                sc.GEN_AI_RESPONSE_FINISH_REASONS: finish,
                sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: first - t0,
                sc.LLM_OTEL_STREAM_CHUNKS: chunks,
                sc.OPENAI_RESPONSE_SERVICE_TIER: tier,
                sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: fingerprint,
            })

    return call if variant == "plain" else call_stream


def openai_manual(variant: str) -> Callable[[], Any]:
    """The bare call inside a manual ``llm_otel.llm_call`` that the app fills itself (same fields)."""
    import llm_otel

    create = _openai_client().chat.completions.create
    messages = [{"role": "user", "content": PROMPTS[variant]}]

    def call() -> None:
        with llm_otel.llm_call(provider="openai", model=OPENAI_MODEL, server_address="local", server_port=80,
                               max_tokens=MAX_TOKENS) as c:
            r = create(model=OPENAI_MODEL, max_completion_tokens=MAX_TOKENS, messages=messages)
            usage = r.usage
            c.response_id, c.response_model = r.id, r.model
            c.finish_reasons = [choice.finish_reason for choice in r.choices]
            c.input_tokens, c.output_tokens = usage.prompt_tokens, usage.completion_tokens
            c.cache_read_input_tokens = usage.prompt_tokens_details.cached_tokens
            c.reasoning_output_tokens = usage.completion_tokens_details.reasoning_tokens
            c.output_text = r.choices[0].message.content
            c.attributes["openai.response.service_tier"] = r.service_tier
            c.attributes["openai.response.system_fingerprint"] = r.system_fingerprint

    def call_stream() -> None:
        with llm_otel.llm_call(provider="openai", model=OPENAI_MODEL, server_address="local", server_port=80,
                               max_tokens=MAX_TOKENS, stream=True) as c:
            finish = []
            for chunk in create(model=OPENAI_MODEL, max_completion_tokens=MAX_TOKENS, messages=messages, stream=True):
                text = None
                for choice in chunk.choices:
                    if choice.delta.content:
                        text = choice.delta.content
                    if choice.finish_reason:
                        finish.append(choice.finish_reason)
                c.add_chunk(text)
                c.response_id, c.response_model = chunk.id, chunk.model
            c.finish_reasons = finish

    return call if variant == "plain" else call_stream


def _instrumented(module: str, bare: Callable[[str], Callable[[], Any]]) -> Callable[[str], Callable[[], Any]]:
    def make(variant: str) -> Callable[[], Any]:
        __import__(module, fromlist=["_"])
        instrumentor = sys.modules[module].__dict__[_INSTRUMENTOR_CLASS[module]]
        instrumentor().instrument()
        return bare(variant)

    make.__wrapped_bare__ = bare  # type: ignore[attr-defined]
    return make


def _with_env(name: str, value: str, make: Callable[[str], Callable[[], Any]]) -> Callable[[str], Callable[[], Any]]:
    """``make`` with an environment variable set first (each configuration runs in its own process)."""
    def with_env(variant: str) -> Callable[[], Any]:
        os.environ[name] = value
        return make(variant)

    with_env.__wrapped_bare__ = make.__wrapped_bare__  # type: ignore[attr-defined]
    return with_env


NO_CHUNK_POINTS = ("LLM_OTEL_TIME_PER_OUTPUT_CHUNK", "false")
"""llm_otel without the per-chunk time points, which the peers that are cheaper on streams do not record."""


# ============================================================================ Anthropic


def _anthropic_client() -> Any:
    import anthropic
    import httpx2
    from llm_otel_tools.local_llm.transport import LocalLLMTransport2

    return anthropic.Anthropic(base_url="http://local", api_key="x", max_retries=0,
                               http_client=httpx2.Client(transport=LocalLLMTransport2()))


def anthropic_bare(variant: str) -> Callable[[], Any]:
    create = _anthropic_client().messages.create
    messages = [{"role": "user", "content": PROMPTS[variant]}]
    if variant == "plain":
        return lambda: create(model=ANTHROPIC_MODEL, max_tokens=ANTHROPIC_MAX_TOKENS, messages=messages)

    def call() -> None:
        for _ in create(model=ANTHROPIC_MODEL, max_tokens=ANTHROPIC_MAX_TOKENS, messages=messages, stream=True):
            pass

    return call


def anthropic_floor(variant: str) -> Callable[[], Any]:
    """The bare call plus, by hand, the span and metric points llm_otel's instrumentor produces.

    Non-streaming: 6 start attributes (max_tokens included) and 7 end attributes; duration,
    input and output token usage, cost, response length. Streaming: 7 start attributes, usage
    from message_start/message_delta, time to first chunk and one time-per-output-chunk point
    per later text delta, duration, token usage, cost, response length.
    """
    from llm_otel import _semconv as sc
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    tracer = trace.get_tracer("floor")
    m = _floor_instruments()
    create = _anthropic_client().messages.create
    messages = [{"role": "user", "content": PROMPTS[variant]}]
    perf = time.perf_counter
    name = f"chat {ANTHROPIC_MODEL}"
    start_attrs = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "anthropic",
                   sc.GEN_AI_REQUEST_MODEL: ANTHROPIC_MODEL, sc.SERVER_ADDRESS: "local", sc.SERVER_PORT: 80}
    span_start = {**start_attrs, sc.GEN_AI_REQUEST_MAX_TOKENS: ANTHROPIC_MAX_TOKENS}
    price_in, price_out = 1e-6, 5e-6

    def record_end(span: Any, t0: float, attrs: dict[str, Any], rid: str, model: str, reason: Any,
                   inp: int, out: int, chars: int, extra: dict[str, Any]) -> None:
        usd = inp * price_in + out * price_out
        m["duration"].record(perf() - t0, attrs)
        m["tokens"].record(inp, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
        m["tokens"].record(out, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
        m["cost"].add(usd, attrs)
        m["length"].record(chars, attrs)
        span.set_attributes({
            sc.GEN_AI_USAGE_INPUT_TOKENS: inp, sc.GEN_AI_USAGE_OUTPUT_TOKENS: out,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 0, sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 0,
            sc.LLM_OTEL_COST_USD: usd, sc.GEN_AI_RESPONSE_ID: rid, sc.GEN_AI_RESPONSE_MODEL: model,
            sc.GEN_AI_RESPONSE_FINISH_REASONS: [reason], **extra,
        })

    def call() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=span_start) as span:
            r = create(model=ANTHROPIC_MODEL, max_tokens=ANTHROPIC_MAX_TOKENS, messages=messages)
            u = r.usage
            inp = u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0)
            text = "".join(b.text for b in r.content if b.type == "text")
            attrs = {**start_attrs, sc.GEN_AI_RESPONSE_MODEL: r.model}
            record_end(span, t0, attrs, r.id, r.model, r.stop_reason, inp, u.output_tokens, len(text), {})

    def call_stream() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT,
                                          attributes={**span_start, sc.GEN_AI_REQUEST_STREAM: True}) as span:
            first = last = None
            attrs: dict[str, Any] = {}
            chunks = chars = inp = out = 0
            rid = model = reason = None
            for event in create(model=ANTHROPIC_MODEL, max_tokens=ANTHROPIC_MAX_TOKENS, messages=messages,
                                stream=True):
                kind = event.type
                if kind == "content_block_delta" and event.delta.type == "text_delta":
                    now = perf()
                    chunks += 1
                    chars += len(event.delta.text)
                    if first is None:
                        first = now
                        attrs = {**start_attrs, sc.GEN_AI_RESPONSE_MODEL: model}
                        m["ttfc"].record(now - t0, attrs)
                    else:
                        m["tpoc"].record(now - last, attrs)
                    last = now
                elif kind == "message_start":
                    rid, model = event.message.id, event.message.model
                    u = event.message.usage
                    inp = u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0)
                elif kind == "message_delta":
                    reason = event.delta.stop_reason
                    out = event.usage.output_tokens
            record_end(span, t0, attrs, rid, model, reason, inp, out, chars, {
                sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: first - t0, sc.LLM_OTEL_STREAM_CHUNKS: chunks})

    return call if variant == "plain" else call_stream


# ============================================================================ start-up


def startup_baseline(variant: str) -> Callable[[], Any]:
    import anthropic  # noqa: F401
    import openai  # noqa: F401

    return lambda: None


def startup_llm_otel_openai(variant: str) -> Callable[[], Any]:
    startup_baseline(variant)
    from llm_otel.instrumentors.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument()
    return lambda: None


def startup_llm_otel_configure(variant: str) -> Callable[[], Any]:
    """``import llm_otel; llm_otel.configure()``: providers already installed, so it instruments every
    installed library (18 here) and leaves the providers alone; it imports none of them (each is
    patched when the app imports it), so this is what a process pays whatever else is installed."""
    startup_baseline(variant)
    import llm_otel

    llm_otel.configure()
    return lambda: None


def _startup_of(make: Callable[[str], Callable[[], Any]]) -> Callable[[str], Callable[[], Any]]:
    def startup(variant: str) -> Callable[[], Any]:
        startup_baseline(variant)
        make("plain")  # import + instrument; the client it builds is part of every configuration
        return lambda: None

    return startup


_INSTRUMENTOR_CLASS = {
    "llm_otel.instrumentors.openai": "OpenAIInstrumentor",
    "llm_otel.instrumentors.anthropic": "AnthropicInstrumentor",
    "opentelemetry.instrumentation.genai.openai": "OpenAIInstrumentor",
    "opentelemetry.instrumentation.openai": "OpenAIInstrumentor",
    "opentelemetry.instrumentation.anthropic": "AnthropicInstrumentor",
}

SCENARIOS: dict[str, Callable[[str], Callable[[], Any]]] = {
    "core/floor": core_floor,
    "core/llm_call": core_llm_call,
    "core/llm_call+evaluators": core_llm_call_evaluators,
    "openai/bare": openai_bare,
    "openai/floor": openai_floor,
    "openai/manual": openai_manual,
    "openai/llm_otel": _instrumented("llm_otel.instrumentors.openai", openai_bare),
    "openai/official": _instrumented("opentelemetry.instrumentation.genai.openai", openai_bare),
    "openai/openllmetry": _instrumented("opentelemetry.instrumentation.openai", openai_bare),
    "openai/llm_otel_no_chunk_points": _with_env(*NO_CHUNK_POINTS, _instrumented("llm_otel.instrumentors.openai",
                                                                                openai_bare)),
    "anthropic/bare": anthropic_bare,
    "anthropic/floor": anthropic_floor,
    "anthropic/llm_otel": _instrumented("llm_otel.instrumentors.anthropic", anthropic_bare),
    "anthropic/openllmetry": _instrumented("opentelemetry.instrumentation.anthropic", anthropic_bare),
    "anthropic/llm_otel_no_chunk_points": _with_env(*NO_CHUNK_POINTS, _instrumented(
        "llm_otel.instrumentors.anthropic", anthropic_bare)),
    "startup/baseline": startup_baseline,
    "startup/llm_otel_openai": startup_llm_otel_openai,
    "startup/llm_otel_configure": startup_llm_otel_configure,
    "startup/official": _startup_of(_instrumented("opentelemetry.instrumentation.genai.openai", lambda v: None)),
    "startup/openllmetry": _startup_of(_instrumented("opentelemetry.instrumentation.openai", lambda v: None)),
}

# ============================================================================ the further providers (issue 11)
# specs in bench_more_providers.py: the SDK on the in-process local LLM, the bare call, what the hand-written
# floor reads off a reply or a stream item, and the peer instrumentors installed in .venv-bench

MORE = ("gemini", "mistral", "cohere", "ollama", "groq", "bedrock", "litellm")
MORE_SDK = {"gemini": "google.genai", "mistral": "mistralai.client", "cohere": "cohere", "ollama": "ollama",
            "groq": "groq", "bedrock": "boto3", "litellm": "litellm"}  # mistralai itself is a namespace package
STARTUP_MORE = tuple(p for p in MORE if p != "litellm")
"""Providers with start-up rows: LiteLLM's own import is ~5 s of CPU natively (minutes under valgrind), and
llm_otel's instrument() for it is the same lazy hook as every other's."""


def _spec_scenario(provider: str, config: str) -> Callable[[str], Callable[[], Any]]:
    def build(variant: str) -> Callable[[], Any]:
        import bench_more_providers as more

        spec = more.SPECS[provider]
        make_call = more.floor_call if config == "floor" else more.bare_call
        return make_call(spec, spec.client(), variant != "plain", PROMPTS[variant])

    def make(variant: str) -> Callable[[], Any]:
        import bench_more_providers as more

        more.instrument(more.SPECS[provider], config)
        return build(variant)

    make.__wrapped_bare__ = build  # type: ignore[attr-defined]
    return make


def more_configs(provider: str) -> tuple[str, ...]:
    import bench_more_providers as more

    return ("bare", "floor", *more.SPECS[provider].instrumentors)


def _startup_import(provider: str) -> Callable[[str], Callable[[], Any]]:
    """The SDK import alone: what ``configure()`` pays for an installed SDK the app never imports."""
    def startup(variant: str) -> Callable[[], Any]:
        startup_baseline(variant)
        __import__(MORE_SDK.get(provider, provider))
        return lambda: None

    return startup


def _startup_instrument(provider: str) -> Callable[[str], Callable[[], Any]]:
    """The SDK import + llm_otel's instrumentor for it, imported and instrument()-ed."""
    def startup(variant: str) -> Callable[[], Any]:
        startup_baseline(variant)
        __import__(MORE_SDK.get(provider, provider))
        import bench_more_providers as more

        module, name = more.SPECS[provider].instrumentors["llm_otel"].split(":")
        getattr(__import__(module, fromlist=[name]), name)().instrument()
        return lambda: None

    return startup


for _p in MORE:
    for _c in more_configs(_p):
        SCENARIOS[f"{_p}/{_c}"] = _spec_scenario(_p, _c)
for _p in STARTUP_MORE:
    SCENARIOS[f"startup/import_{_p}"] = _startup_import(_p)
    SCENARIOS[f"startup/llm_otel_{_p}"] = _startup_instrument(_p)

STREAMING = ("openai/", "anthropic/", *(f"{p}/" for p in MORE))


def variants_of(scenario: str) -> tuple[str, ...]:
    return ("plain", "stream", "long") if scenario.startswith(STREAMING) else ("plain",)


# ============================================================================ the process


def _counted_run(sdk: Sdk, fn: Callable[[], Any], calls: int, timed: bool) -> dict[str, Any]:
    """Make ``calls`` calls (in a forked child), flush the spans, describe what was produced."""
    import gc

    spans_before = sdk.spans
    if timed:
        gc.disable()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    elapsed = time.perf_counter() - t0
    if timed:
        gc.enable()
    sdk.flush()
    last = sdk.last_span
    return {
        "calls": calls, "us_per_call": elapsed / calls * 1e6 if calls else 0.0,
        "spans_per_call": (sdk.spans - spans_before) / calls if calls else 0.0,
        "span": last.name if last is not None else None,
        "span_attributes": len(last.attributes or ()) if last is not None else 0,
        "span_keys": sorted(last.attributes or ()) if last is not None else [],
        "metrics": sdk.metric_names(),
    }


def _common_imports(scenarios: list[str]) -> None:
    """What every configuration's process has before its own set-up: the SDKs, the OTel SDK, the fake
    transport. Imported once in the batch process, then inherited by every configuration's fork.
    Only the SDKs the batch's configurations call (the imports are slow under valgrind)."""
    import httpx  # noqa: F401
    import httpx2  # noqa: F401
    import llm_otel_tools.local_llm.transport  # noqa: F401
    import opentelemetry.sdk._logs
    import opentelemetry.sdk.metrics
    import opentelemetry.sdk.trace  # noqa: F401

    if any(s.startswith(("openai/", "anthropic/", "startup/")) for s in scenarios):
        import anthropic  # noqa: F401
        import openai  # noqa: F401
    for provider, module in MORE_SDK.items():
        if any(s.startswith(provider + "/") for s in scenarios):
            __import__(module)


def _fork(body: Callable[[], str | None]) -> str:
    """Run ``body`` in a forked child; returns what it returned (through a pipe)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        status = 0
        try:
            os.write(write, (body() or "").encode())
        except BaseException:  # say why and fail: an empty answer from a child would pass for no result
            import traceback

            traceback.print_exc()
            status = 1
        finally:
            sys.stderr.flush()
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        out = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit(f"child failed (status {status})")
    return out


def run(scenario: str, runs: list[tuple[str, int]], timed: bool) -> str:
    """One configuration (in its own forked process): set up and warm up once, then one forked
    child per (variant, calls). Each child starts from the same memory (and, under cachegrind, the
    same instruction count) and differs only by its calls. One JSON line per child."""
    import gc

    sdk = Sdk()
    make = SCENARIOS[scenario]
    t0 = time.perf_counter()
    calls_of: dict[str, Callable[[], Any]] = {}
    for variant in variants_of(scenario):
        calls_of[variant] = make(variant) if not calls_of else _call_only(make)(variant)
    setup_ms = (time.perf_counter() - t0) * 1e3
    for variant, fn in calls_of.items():  # the same warm-up whatever is counted afterwards
        for _ in range(WARMUP[variant] if scenario.startswith(STREAMING) else 50):
            fn()
    sdk.flush()
    gc.collect()
    lines = []
    for variant, calls in runs:
        def child(variant: str = variant, calls: int = calls) -> str:
            return json.dumps({"scenario": scenario, "variant": variant, "pid": os.getpid(), "setup_ms": setup_ms,
                               **_counted_run(sdk, calls_of[variant], calls, timed)})
        lines.append(_fork(child))
    return "\n".join(lines)


def run_batch(jobs: list[tuple[str, list[tuple[str, int]]]], timed: bool) -> None:
    """Every configuration of the batch in its own process, forked from one that did the common imports."""
    import gc

    if any(not scenario.startswith("core/") for scenario, _ in jobs):
        # start-up batches too: their rows are what a configuration adds to a process that has openai and
        # anthropic (the drivers run them in batches of their own, without the further providers' SDKs)
        _common_imports([scenario for scenario, _ in jobs])
    gc.collect()
    for scenario, runs in jobs:
        print(_fork(lambda scenario=scenario, runs=runs: run(scenario, runs, timed)), flush=True)  # called at once


def _call_only(make: Callable[[str], Callable[[], Any]]) -> Callable[[str], Callable[[], Any]]:
    """For a further variant: build its call without instrumenting a second time."""
    return getattr(make, "__wrapped_bare__", make)


def stream_items() -> dict[str, dict[str, int]]:
    """Items (chunks, events) per streamed answer, per provider and variant: the local LLM is deterministic."""
    out: dict[str, dict[str, int]] = {}
    for provider, client, kwargs in (
        ("openai", lambda: _openai_client().chat.completions.create,
         {"model": OPENAI_MODEL, "max_completion_tokens": MAX_TOKENS}),
        ("anthropic", lambda: _anthropic_client().messages.create,
         {"model": ANTHROPIC_MODEL, "max_tokens": ANTHROPIC_MAX_TOKENS}),
    ):
        create = client()
        out[provider] = {v: sum(1 for _ in create(messages=[{"role": "user", "content": PROMPTS[v]}], stream=True,
                                                    **kwargs)) for v in ("stream", "long")}
    import bench_more_providers as more

    for provider in MORE:
        spec = more.SPECS[provider]
        client = spec.client()
        out[provider] = {v: sum(1 for _ in spec.call(client, True, PROMPTS[v])) for v in ("stream", "long")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", nargs="*", metavar="SCENARIO[@VARIANT:CALLS,...]",
                        help=f"scenarios (of {', '.join(SCENARIOS)}), each with its counted runs "
                             "(default @plain:0,plain:100)")
    parser.add_argument("--chunks", action="store_true", help="print the items per stream of each provider")
    parser.add_argument("--timed", action="store_true", help="pause the GC while timing (wall-clock runs)")
    args = parser.parse_args()
    if args.chunks:
        print(json.dumps(stream_items()))
        return
    jobs = []
    for job in args.jobs:
        scenario, _, spec = job.partition("@")
        if scenario not in SCENARIOS:
            parser.error(f"unknown scenario {scenario}")
        runs = [(v, int(n)) for v, n in (item.split(":") for item in (spec or "plain:0,plain:100").split(","))]
        bad = {v for v, _ in runs} - set(variants_of(scenario))
        if bad:
            parser.error(f"{scenario} has no variant {', '.join(sorted(bad))}")
        jobs.append((scenario, runs))
    if not jobs:
        parser.error("no scenario given")
    run_batch(jobs, args.timed)


if __name__ == "__main__":
    main()
