"""Provider specs for ``bench_providers_wall.py --provider NAME`` (google-genai, mistralai, ollama, cohere).

Each spec gives the SDK client (on the in-process local LLM transport: no sockets), the bare
call (non-streaming, or the whole stream consumed), how to read usage and text off its replies
for the hand-written floor, and the instrumentors to compare: llm_otel's, the official
OpenTelemetry contrib one (google-genai only) and OpenLLMetry's, where they exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    extra: Callable[[Any], dict[str, Any]] = lambda item: {}
    """Further end attributes llm_otel reads from the reply (or from a stream's first and usage items):
    response id, cache and reasoning tokens, provider-specific ones; the floor sets the same."""
    response_model: bool = True  # llm_otel reports gen_ai.response.model (the reply names the model)
    request: dict[str, Any] = field(default_factory=dict)  # further start attributes llm_otel sets
    server: bool = True  # llm_otel reports server.address/port (the client names its endpoint)


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


def _litellm_client() -> Any:
    """The OpenAI SDK client LiteLLM's openai route calls (``client=``): LiteLLM on the in-process local LLM."""
    import httpx2
    import openai
    from llm_otel_tools.local_llm.transport import LocalLLMTransport2

    _litellm_logging_inline()
    return openai.OpenAI(base_url="http://local/v1", api_key="x", max_retries=0,
                         http_client=httpx2.Client(transport=LocalLLMTransport2()))


def _litellm_logging_inline() -> None:
    """Run LiteLLM's success logging in the calling thread, so every counted call does all of it.

    LiteLLM hands that logging to a thread pool. A pool thread runs it whenever it gets the CPU, and
    the pool's threads do not survive the fork into a counting child. So how much of it fell inside
    the counted window changed from run to run, by ~4 % of a 15 M-instruction call: several times the
    ~1 M a configuration adds. Inline, it is the same work in every configuration and every run.
    """
    from concurrent.futures import Future

    from litellm.litellm_core_utils.thread_pool_executor import executor

    def submit(fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    executor.submit = submit  # type: ignore[method-assign]


def _litellm_call(client: Any, stream: bool, prompt: str = PROMPT) -> Any:
    import litellm

    return litellm.completion(model="openai/gpt-4o-mini", messages=_messages(prompt), client=client,
                              max_tokens=120, stream=stream)


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


def _id(item: Any, field: str = "id") -> dict[str, Any]:
    from llm_otel import _semconv as sc

    value = getattr(item, field, None)
    return {sc.GEN_AI_RESPONSE_ID: value} if value else {}


def _chat_details(usage: Any) -> dict[str, Any]:
    """Cache-read and reasoning tokens from an OpenAI-shaped usage (prompt/completion token details)."""
    from llm_otel import _semconv as sc

    if usage is None:
        return {}
    def field(obj: Any, name: str) -> Any:  # an SDK object or, as mistralai has them, a plain dict
        return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)

    cached = field(field(usage, "prompt_tokens_details"), "cached_tokens")
    reasoning = field(field(usage, "completion_tokens_details"), "reasoning_tokens")
    return {**({sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: cached} if cached is not None else {}),
            **({sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: reasoning} if reasoning is not None else {})}


def _mistral_extra(item: Any) -> dict[str, Any]:
    reply = getattr(item, "data", item)  # a stream event carries the chunk in .data
    return {**_id(reply), **_chat_details(getattr(reply, "usage", None))}


def _groq_extra(item: Any) -> dict[str, Any]:
    from llm_otel import _semconv as sc

    x_groq = getattr(item, "x_groq", None)
    usage = getattr(item, "usage", None) or getattr(x_groq, "usage", None)
    tier, fingerprint = getattr(item, "service_tier", None), getattr(item, "system_fingerprint", None)
    return {**_id(item), **_chat_details(usage),
            **({sc.OPENAI_RESPONSE_SERVICE_TIER: tier} if tier else {}),
            **({sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: fingerprint} if fingerprint else {})}


def _cohere_extra(item: Any) -> dict[str, Any]:
    from llm_otel import _semconv as sc

    if getattr(item, "type", None) == "message-start":
        return _id(item)
    usage = getattr(getattr(item, "delta", None), "usage", None) if hasattr(item, "type") else item.usage
    cached = getattr(usage, "cached_tokens", None)
    return {**(_id(item) if not hasattr(item, "type") else {}),
            **({sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: int(cached)} if cached is not None else {})}


def _bedrock_extra(item: Any) -> dict[str, Any]:
    from llm_otel import _semconv as sc

    usage = item.get("usage") or item.get("metadata", {}).get("usage")
    if not usage:
        return {}
    return {sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.get("cacheReadInputTokens", 0),
            sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: usage.get("cacheWriteInputTokens", 0)}


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
        (0.10e-6, 0.40e-6), _gemini_usage, lambda item: _id(item, "response_id")),
    "mistral": Spec(
        "mistral_ai", "chat", "mistral-small-latest", _mistral_client,
        lambda c, s, p=PROMPT: (c.chat.stream if s else c.chat.complete)(model="mistral-small-latest", messages=_messages(p)),
        lambda r: (r.usage.prompt_tokens, r.usage.completion_tokens),
        lambda r: r.choices[0].message.content or "", lambda ev: ev.data.choices[0].delta.content if ev.data.choices else None,
        # OpenLLMetry's opentelemetry-instrumentation-mistralai 0.62.4 fails to import on mistralai 3.x
        # (`from mistralai.models import ...`: no such module)
        {"llm_otel": "llm_otel.instrumentors.mistralai:MistralAIInstrumentor"},
        (0.15e-6, 0.60e-6),
        lambda ev: (ev.data.usage.prompt_tokens, ev.data.usage.completion_tokens) if ev.data.usage else None,
        _mistral_extra),
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
        if ev.type == "message-end" and ev.delta.usage and ev.delta.usage.tokens else None,
        _cohere_extra, response_model=False),
    "groq": Spec(
        "groq", "chat", "llama-3.3-70b-versatile", _groq_client,
        lambda c, s, p=PROMPT: c.chat.completions.create(model="llama-3.3-70b-versatile", messages=_messages(p), stream=s),
        lambda r: (r.usage.prompt_tokens, r.usage.completion_tokens),
        lambda r: r.choices[0].message.content or "", lambda ch: ch.choices[0].delta.content if ch.choices else None,
        {"llm_otel": "llm_otel.instrumentors.groq:GroqInstrumentor",
         "openllmetry": "opentelemetry.instrumentation.groq:GroqInstrumentor"},
        (0.59e-6, 0.79e-6), _groq_usage, _groq_extra),
    "bedrock": Spec(
        "aws.bedrock", "chat", "amazon.nova-lite-v1:0", _bedrock_client,
        lambda c, s, p=PROMPT: (c.converse_stream(modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": p}]}])["stream"]
                                if s else c.converse(modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": p}]}])),
        lambda r: (r["usage"]["inputTokens"], r["usage"]["outputTokens"]),
        lambda r: r["output"]["message"]["content"][0]["text"], _bedrock_text,
        {"llm_otel": "llm_otel.instrumentors.bedrock:BedrockInstrumentor",
         "official": "opentelemetry.instrumentation.botocore:BotocoreInstrumentor",
         "openllmetry": "opentelemetry.instrumentation.bedrock:BedrockInstrumentor"},
        (0.06e-6, 0.24e-6), _bedrock_usage, _bedrock_extra, response_model=False),
    # LiteLLM routing to OpenAI: what configure() gives (LiteLLM's and the OpenAI SDK's instrumentors,
    # one span per call); no peer counted (OpenLLMetry has no LiteLLM instrumentor)
    "litellm": Spec(
        "openai", "chat", "gpt-4o-mini", _litellm_client, _litellm_call,
        lambda r: (r.usage.prompt_tokens, r.usage.completion_tokens),
        lambda r: r.choices[0].message.content or "", lambda ch: ch.choices[0].delta.content if ch.choices else None,
        {"llm_otel": "llm_otel.instrumentors.litellm:LiteLLMInstrumentor,llm_otel.instrumentors.openai:OpenAIInstrumentor"},
        (0.15e-6, 0.6e-6), lambda ch: (ch.usage.prompt_tokens, ch.usage.completion_tokens)
        if getattr(ch, "usage", None) else None, _groq_extra,
        request={"gen_ai.request.max_tokens": 120}, server=False),
}


def instrument(spec: Spec, config: str) -> None:
    target = spec.instrumentors.get(config)
    if target is None:
        if config in ("bare", "floor"):
            return
        raise SystemExit(f"no {config} instrumentation for {spec.provider}")
    for one in target.split(","):
        module, name = one.split(":")
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
    unpriced = meter.create_counter(sc.METRIC_UNPRICED, unit="{call}")
    perf = time.perf_counter
    name = f"{spec.operation} {spec.model}"
    start = {sc.GEN_AI_OPERATION_NAME: spec.operation, sc.GEN_AI_PROVIDER_NAME: spec.provider,
             sc.GEN_AI_REQUEST_MODEL: spec.model, **spec.request,
             **({sc.SERVER_ADDRESS: "local", sc.SERVER_PORT: 80} if spec.server else {})}
    price_in, price_out = spec.price
    priced = bool(price_in or price_out)
    model = {sc.GEN_AI_RESPONSE_MODEL: spec.model} if spec.response_model else {}

    def charge(inp: int, out: int, attrs: dict[str, Any], end: dict[str, Any]) -> None:
        if priced:
            usd = inp * price_in + out * price_out
            cost.add(usd, attrs)
            end[sc.LLM_OTEL_COST_USD] = usd
        else:  # no known price: counted, no cost
            unpriced.add(1, attrs)

    def call() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=start) as span:
            reply = spec.call(client, False, prompt)
            inp, out = spec.usage(reply)
            attrs = {**start, **model}
            duration.record(perf() - t0, attrs)
            tokens.record(inp, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
            tokens.record(out, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
            end = {sc.GEN_AI_USAGE_INPUT_TOKENS: inp, sc.GEN_AI_USAGE_OUTPUT_TOKENS: out,
                   **model, sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"], **spec.extra(reply)}
            charge(inp, out, attrs, end)
            length.record(len(spec.text(reply)), attrs)
            span.set_attributes(end)

    stream_start = {**start, sc.GEN_AI_REQUEST_STREAM: True}

    def call_stream() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=stream_start) as span:
            first = last = None
            chunks = chars = 0
            usage = None
            attrs = {**start, **model}
            end = {**model, sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"]}
            for item in spec.call(client, True, prompt):
                now = perf()
                chunks += 1
                if first is None:
                    first = now
                    ttfc.record(now - t0, attrs)
                    end.update(spec.extra(item))
                else:
                    tpoc.record(now - last, attrs)
                last = now
                chars += len(spec.chunk_text(item) or "")
                item_usage = spec.chunk_usage(item)
                if item_usage is not None:
                    usage = item_usage
                    end.update(spec.extra(item))
            duration.record(perf() - t0, attrs)
            length.record(chars, attrs)
            end.update({sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: (first or t0) - t0, sc.LLM_OTEL_STREAM_CHUNKS: chunks})
            if usage is not None:  # the stream reported usage: the same points as a complete reply
                inp, out = usage
                tokens.record(inp, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
                tokens.record(out, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
                end.update({sc.GEN_AI_USAGE_INPUT_TOKENS: inp, sc.GEN_AI_USAGE_OUTPUT_TOKENS: out})
                charge(inp, out, attrs, end)
            span.set_attributes(end)

    return call_stream if stream else call
