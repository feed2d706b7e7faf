"""Provider specs for ``bench_providers_wall.py --provider NAME`` (google-genai, mistralai, ollama, cohere).

Each spec gives the SDK client (on the in-process local LLM transport: no sockets), the bare
call (non-streaming, or the whole stream consumed), how to read usage and text off its replies
for the hand-written floor, and the instrumentors to compare: llm_otel's, the official
OpenTelemetry contrib one (google-genai only) and OpenLLMetry's, where they exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PROMPT = "Say hello in five words"


@dataclass(frozen=True)
class Spec:
    provider: str  # gen_ai.provider.name
    operation: str
    model: str
    client: Callable[[], Any]
    call: Callable[..., Any]  # (client, stream[, prompt]) -> the SDK's reply or stream (an iterable)
    usage: Callable[[Any], tuple[int, int]]  # complete reply -> (input, output) tokens
    text: Callable[[Any], str]  # complete reply -> answer text
    chunk_text: Callable[[Any], str | None]
    instrumentors: dict[str, str]  # config -> "module:Class"
    price: tuple[float, float] = (0.0, 0.0)  # USD per token (in, out) for the floor's cost point
    chunk_usage: Callable[[Any], tuple[int, int] | None] = lambda item: None  # usage a stream item carries


def _gemini_client() -> Any:
    import httpx2
    from google import genai
    from google.genai import types
    from llm_otel_tools.local_llm.transport import LocalLLMTransport2

    http = httpx2.Client(transport=LocalLLMTransport2())
    return genai.Client(api_key="x", http_options=types.HttpOptions(base_url="http://local", httpx_client=http))


def _mistral_client() -> Any:
    import httpx2
    from llm_otel_tools.local_llm.transport import LocalLLMTransport2
    from mistralai.client import Mistral

    return Mistral(api_key="x", server_url="http://local/mistral", client=httpx2.Client(transport=LocalLLMTransport2()))


def _ollama_client() -> Any:
    import ollama
    from llm_otel_tools.local_llm.transport import LocalLLMTransport

    return ollama.Client(host="http://local", transport=LocalLLMTransport())


def _cohere_client() -> Any:
    import cohere
    import httpx
    from llm_otel_tools.local_llm.transport import LocalLLMTransport

    return cohere.ClientV2(api_key="x", base_url="http://local", httpx_client=httpx.Client(transport=LocalLLMTransport()))


def _messages(prompt: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": prompt}]


def _groq_client() -> Any:
    from bench_bedrock_groq import _groq_client

    return _groq_client()


def _bedrock_client() -> Any:
    from bench_bedrock_groq import _bedrock_client

    return _bedrock_client()


def _gemini_usage(chunk: Any) -> tuple[int, int] | None:
    u = chunk.usage_metadata
    return (u.prompt_token_count or 0, u.candidates_token_count or 0) if u is not None else None


def _groq_usage(chunk: Any) -> tuple[int, int] | None:
    u = chunk.x_groq.usage if chunk.x_groq is not None else None
    return (u.prompt_tokens, u.completion_tokens) if u is not None else None


def _bedrock_usage(event: Any) -> tuple[int, int] | None:
    u = event.get("metadata", {}).get("usage")
    return (u["inputTokens"], u["outputTokens"]) if u else None


def _bedrock_text(event: Any) -> str | None:
    delta = event.get("contentBlockDelta")
    return delta["delta"].get("text") if delta else None


SPECS = {
    "gemini": Spec(
        "gcp.gemini", "generate_content", "gemini-2.0-flash", _gemini_client,
        lambda c, s, p=PROMPT: (c.models.generate_content_stream if s else c.models.generate_content)(
            model="gemini-2.0-flash", contents=p),
        lambda r: (r.usage_metadata.prompt_token_count, r.usage_metadata.candidates_token_count),
        lambda r: r.text or "", lambda ch: ch.text,
        {"llm_otel": "llm_otel.instrumentors.google_genai:GoogleGenAIInstrumentor",
         # the official opentelemetry-instrumentation-google-genai 1.3b0 instruments google-genai>=1.32,<3 only
         # (it says so and does nothing on 3.x)
         "openllmetry": "opentelemetry.instrumentation.google_generativeai:GoogleGenerativeAiInstrumentor"},
        (0.10e-6, 0.40e-6), _gemini_usage),
    "mistral": Spec(
        "mistral_ai", "chat", "mistral-small-latest", _mistral_client,
        lambda c, s, p=PROMPT: (c.chat.stream if s else c.chat.complete)(model="mistral-small-latest", messages=_messages(p)),
        lambda r: (r.usage.prompt_tokens, r.usage.completion_tokens),
        lambda r: r.choices[0].message.content or "", lambda ev: ev.data.choices[0].delta.content if ev.data.choices else None,
        # OpenLLMetry's opentelemetry-instrumentation-mistralai 0.62.4 fails to import on mistralai 3.x
        # (`from mistralai.models import ...`: no such module)
        {"llm_otel": "llm_otel.instrumentors.mistralai:MistralAIInstrumentor"},
        (0.15e-6, 0.60e-6),
        lambda ev: (ev.data.usage.prompt_tokens, ev.data.usage.completion_tokens) if ev.data.usage else None),
    "ollama": Spec(
        "ollama", "chat", "llama3.2", _ollama_client,
        lambda c, s, p=PROMPT: c.chat(model="llama3.2", messages=_messages(p), stream=s),
        lambda r: (r.prompt_eval_count, r.eval_count), lambda r: r.message.content or "", lambda p: p.message.content,
        {"llm_otel": "llm_otel.instrumentors.ollama:OllamaInstrumentor",
         "openllmetry": "opentelemetry.instrumentation.ollama:OllamaInstrumentor"},
        (0.0, 0.0), lambda part: (part.prompt_eval_count, part.eval_count) if part.done else None),
    "cohere": Spec(
        "cohere", "chat", "command-r-plus", _cohere_client,
        lambda c, s, p=PROMPT: (c.chat_stream if s else c.chat)(model="command-r-plus", messages=_messages(p)),
        lambda r: (int(r.usage.tokens.input_tokens), int(r.usage.tokens.output_tokens)),
        lambda r: r.message.content[0].text, lambda ev: ev.delta.message.content.text if ev.type == "content-delta" else None,
        # OpenLLMetry's opentelemetry-instrumentation-cohere 0.62.4 instruments cohere>=4.2.7,<6 only
        {"llm_otel": "llm_otel.instrumentors.cohere:CohereInstrumentor"},
        (2.5e-6, 10e-6),
        lambda ev: (int(ev.delta.usage.tokens.input_tokens), int(ev.delta.usage.tokens.output_tokens))
        if ev.type == "message-end" and ev.delta.usage and ev.delta.usage.tokens else None),
    "groq": Spec(
        "groq", "chat", "llama-3.3-70b-versatile", _groq_client,
        lambda c, s, p=PROMPT: c.chat.completions.create(model="llama-3.3-70b-versatile", messages=_messages(p), stream=s),
        lambda r: (r.usage.prompt_tokens, r.usage.completion_tokens),
        lambda r: r.choices[0].message.content or "", lambda ch: ch.choices[0].delta.content if ch.choices else None,
        {"llm_otel": "llm_otel.instrumentors.groq:GroqInstrumentor",
         "openllmetry": "opentelemetry.instrumentation.groq:GroqInstrumentor"},
        (0.59e-6, 0.79e-6), _groq_usage),
    "bedrock": Spec(
        "aws.bedrock", "chat", "amazon.nova-lite-v1:0", _bedrock_client,
        lambda c, s, p=PROMPT: (c.converse_stream(modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": p}]}])["stream"]
                                if s else c.converse(modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": p}]}])),
        lambda r: (r["usage"]["inputTokens"], r["usage"]["outputTokens"]),
        lambda r: r["output"]["message"]["content"][0]["text"], _bedrock_text,
        {"llm_otel": "llm_otel.instrumentors.bedrock:BedrockInstrumentor",
         "official": "opentelemetry.instrumentation.botocore:BotocoreInstrumentor",
         "openllmetry": "opentelemetry.instrumentation.bedrock:BedrockInstrumentor"},
        (0.06e-6, 0.24e-6), _bedrock_usage),
}


def instrument(spec: Spec, config: str) -> None:
    target = spec.instrumentors.get(config)
    if target is None:
        if config in ("bare", "floor"):
            return
        raise SystemExit(f"no {config} instrumentation for {spec.provider}")
    module, name = target.split(":")
    getattr(__import__(module, fromlist=[name]), name)().instrument()


def bare_call(spec: Spec, client: Any, stream: bool, prompt: str = PROMPT) -> Callable[[], Any]:
    if not stream:
        return lambda: spec.call(client, False, prompt)

    def consume() -> None:
        for _ in spec.call(client, True, prompt):
            pass

    return consume


def floor_call(spec: Spec, client: Any, stream: bool, prompt: str = PROMPT) -> Callable[[], Any]:
    """The bare call plus, by hand, a span and metric points like llm_otel's for it: start attributes
    (operation, provider, model, server), end attributes (response model, tokens, cost or chunks and
    time to first chunk), operation duration, token usage, cost, response length; streams also time
    to first chunk and one time-per-output-chunk point per later chunk."""
    from llm_otel import _semconv as sc
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind

    tracer, meter = trace.get_tracer("floor"), metrics.get_meter("floor")

    def histogram(name: str, unit: str, buckets: Any = None) -> Any:
        return meter.create_histogram(name, unit=unit, explicit_bucket_boundaries_advisory=list(buckets) if buckets else None)

    duration = histogram(sc.METRIC_OPERATION_DURATION, "s", sc.DURATION_BUCKETS)
    tokens = histogram(sc.METRIC_TOKEN_USAGE, "{token}", sc.TOKEN_BUCKETS)
    ttfc = histogram(sc.METRIC_TIME_TO_FIRST_CHUNK, "s", sc.DURATION_BUCKETS)
    tpoc = histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK, "s", sc.DURATION_BUCKETS)
    length = meter.create_histogram(sc.METRIC_RESPONSE_LENGTH, unit="{char}")
    cost = meter.create_counter(sc.METRIC_COST, unit="{USD}")
    perf = time.perf_counter
    name = f"{spec.operation} {spec.model}"
    start = {sc.GEN_AI_OPERATION_NAME: spec.operation, sc.GEN_AI_PROVIDER_NAME: spec.provider,
             sc.GEN_AI_REQUEST_MODEL: spec.model, sc.SERVER_ADDRESS: "local", sc.SERVER_PORT: 80}
    price_in, price_out = spec.price

    def call() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=start) as span:
            reply = spec.call(client, False, prompt)
            inp, out = spec.usage(reply)
            attrs = {**start, sc.GEN_AI_RESPONSE_MODEL: spec.model}
            duration.record(perf() - t0, attrs)
            tokens.record(inp, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
            tokens.record(out, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
            usd = inp * price_in + out * price_out
            if usd:
                cost.add(usd, attrs)
            length.record(len(spec.text(reply)), attrs)
            span.set_attributes({sc.GEN_AI_USAGE_INPUT_TOKENS: inp, sc.GEN_AI_USAGE_OUTPUT_TOKENS: out,
                                 sc.GEN_AI_RESPONSE_MODEL: spec.model, sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
                                 sc.LLM_OTEL_COST_USD: usd})

    stream_start = {**start, sc.GEN_AI_REQUEST_STREAM: True}

    def call_stream() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=stream_start) as span:
            first = last = None
            chunks = chars = 0
            usage = None
            attrs = {**start, sc.GEN_AI_RESPONSE_MODEL: spec.model}
            for item in spec.call(client, True, prompt):
                now = perf()
                chunks += 1
                if first is None:
                    first = now
                    ttfc.record(now - t0, attrs)
                else:
                    tpoc.record(now - last, attrs)
                last = now
                chars += len(spec.chunk_text(item) or "")
                usage = spec.chunk_usage(item) or usage
            duration.record(perf() - t0, attrs)
            length.record(chars, attrs)
            end = {sc.GEN_AI_RESPONSE_MODEL: spec.model, sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
                   sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: (first or t0) - t0, sc.LLM_OTEL_STREAM_CHUNKS: chunks}
            if usage is not None:  # the stream reported usage: the same points as a complete reply
                inp, out = usage
                tokens.record(inp, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
                tokens.record(out, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
                usd = inp * price_in + out * price_out
                if usd:
                    cost.add(usd, attrs)
                end.update({sc.GEN_AI_USAGE_INPUT_TOKENS: inp, sc.GEN_AI_USAGE_OUTPUT_TOKENS: out, sc.LLM_OTEL_COST_USD: usd})
            span.set_attributes(end)

    return call_stream if stream else call
