"""A small deterministic LLM server speaking the real OpenAI and Anthropic HTTP APIs.

It is the one stand-in of the test/demo pipeline: the real ``openai`` and
``anthropic`` SDKs talk to it over real HTTP (or, for benchmarks, through the
in-process transports in :mod:`llm_otel_tools.local_llm.transport`).  Standard
library only.

Usage::

    from llm_otel_tools.local_llm import LocalLLMServer
    with LocalLLMServer() as srv:                       # 127.0.0.1, free port
        openai.OpenAI(base_url=srv.openai_base_url, api_key="x")
        anthropic.Anthropic(base_url=srv.anthropic_base_url, api_key="x")

    python -m llm_otel_tools.local_llm --port 8900 --ttft-ms 200 --chunk-delay-ms 20

Modules: ``engine`` (pure request-dict -> JSON dict / SSE event builders and
the :func:`~llm_otel_tools.local_llm.engine.handle` dispatcher), ``server`` (socket
layer), ``transport`` (httpx transports, imported on demand).

Routes (``/v1`` prefix optional)
--------------------------------
``POST /v1/chat/completions`` (stream, ``stream_options.include_usage``, ``n``,
``max_tokens``/``max_completion_tokens``, ``stop``, tools), ``POST
/v1/embeddings`` (float or base64, ``dimensions``), ``POST /v1/responses``
(stream or not, function tools), ``POST /v1/messages`` (Anthropic, stream or
not, tools, ``system``, ``stop_sequences``), ``GET /v1/models`` (Anthropic
shape when an ``anthropic-version`` header is sent).  Also (``apis.openai_extras``): legacy
``POST /v1/completions``; Azure OpenAI's ``/openai/deployments/{deployment}/...?api-version=``
and ``/openai/responses?api-version=``; Anthropic on Vertex AI
(``/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict`` /
``:streamRawPredict``).  ``AnthropicBedrock`` uses the Bedrock InvokeModel routes.

Structured output (chat ``response_format``, Responses ``text.format``, Anthropic
``output_config.format``): a ``json_schema`` request is answered with a JSON object built from the
schema like tool arguments; ``json_object`` with ``{"answer": <the text reply>}``.

Deterministic answers
---------------------
* Tokens = whitespace-separated words.  Prompt tokens = words of the system
  prompt plus all message texts (assistant tool calls count ``name`` +
  JSON arguments, tool results their content); at least 1.  Stream deltas are
  one token each (leading whitespace attached), so the number of content
  deltas equals ``completion_tokens`` (for non-reasoning models).
* Text reply (a pure function of model + last user message, *U*):
  ``"This is a deterministic reply from {model} to: {first 20 words of U}"``
  where ``{model}`` is the *request* model.  With ``n`` > 1, choice *i* > 0
  appends ``" (variant {i+1})"``.
* Trigger words (whole words, case-insensitive, in the latest user message;
  or forced with the header ``x-llm-behaviors: slow,broken``):

  - ``refuse``  -> ``"I cannot help with that request. Please ask about something else."``
    (also suppresses tool calls)
  - ``unsure``  -> ``"I think the answer is probably related to {first 8 words of U}, but I am not completely certain."``
  - ``long``    -> 30 sentences, 450+ words.
  - ``error``   -> HTTP 500 (OpenAI ``{"error": {"message","type": "server_error","param","code"}}``;
    Anthropic ``{"type": "error", "error": {"type": "api_error", "message"}}``).
  - ``ratelimit`` -> HTTP 429 with ``retry-after: 0`` (``rate_limit_exceeded`` /
    ``rate_limit_error``).
  - ``overloaded`` -> OpenAI HTTP 503, Anthropic HTTP 529 ``overloaded_error``.
    (The SDKs retry 429/5xx by default: use ``max_retries=0`` in tests.)
  - ``broken``  -> streams send ``broken_after_events`` (default 3) SSE frames and
    then the socket is closed without the terminating chunk (no ``[DONE]``,
    no ``message_stop``): httpx raises ``RemoteProtocolError`` while the SDK
    iterates.  Non-streaming: the full ``Content-Length`` is announced but
    only half the body is sent (SDKs raise ``APIConnectionError``).
  - ``slow``    -> latency and TTFT become ``slow_ms`` (default 3000) for
    timeout tests.
  - ``nousage`` -> no ``usage`` anywhere (OpenAI: key omitted / no usage chunk
    even with ``include_usage``; Responses: ``usage: null``; Anthropic: key
    omitted in the message, ``message_start`` and ``message_delta`` — which the
    ``messages.stream()`` helper cannot accumulate; iterate raw events instead).
  - ``malformed`` -> HTTP 200 with an invalid JSON body; streams get one
    ``data: {not valid json`` frame after the first event.
  - ``cachewrite`` -> Anthropic reports the cached system tokens as
    ``cache_creation_input_tokens`` instead of ``cache_read_input_tokens``.

  Precedence: error > ratelimit > overloaded; ``refuse`` > tool call >
  ``unsure`` > ``long`` > default text.
* Tool calls: when function tools are offered, ``tool_choice`` is not "none"
  and the conversation does not end with tool results, the model calls every
  offered tool mentioned in U, in offering order, or the first tool if none
  is.  Mentioned = the name occurs case-insensitively (also with ``_``/``-``
  read as spaces), or its last ``_``-separated part is a word of U
  (``get_weather`` is mentioned by "the weather in Paris") (only one when parallel tool calls
  are disabled; a forced ``tool_choice`` names the tool).  Arguments come
  from the tool's JSON schema: ``enum`` -> first value; number/integer ->
  first number in U (else 1); boolean -> true; array -> [last word]; object
  -> {}; strings named query/q/text/prompt/question/input -> U; other
  strings -> the last word of U (``"weather in Paris?"`` -> ``"Paris"``).
  finish_reason ``tool_calls`` / stop_reason ``tool_use`` / Responses
  ``function_call`` items.  Anthropic prefixes a text block
  ``"I will call {names}."``.  Ids are ``call_…``/``toolu_01…``/``fc_…``.
* When the conversation ends with tool results the reply is
  ``"Based on the tool result, the answer is: {results joined by '; '}"``.
* Limits: the text is cut to ``max_tokens`` / ``max_completion_tokens`` /
  ``max_output_tokens`` tokens (minus reasoning tokens) -> finish_reason
  ``length``, Anthropic ``max_tokens``, Responses status ``incomplete``
  (``incomplete_details.reason = "max_output_tokens"``).  Stop sequences cut
  before the match (Anthropic ``stop_sequence``).
* Reasoning models (``o1``/``o3``/``o4…``, ``gpt-5…``): reasoning tokens = 2 x
  words of U, included in completion/output tokens (Responses also emits a
  ``reasoning`` output item).
* Prompt caching: a system prompt of at least ``cache_min_words`` (default
  32) words is reported as cached: OpenAI ``prompt_tokens_details.
  cached_tokens`` / Responses ``input_tokens_details.cached_tokens`` = system
  words (included in prompt tokens); Anthropic ``cache_read_input_tokens`` =
  system words and ``input_tokens`` = prompt tokens minus them.
* Models: OpenAI responses report dated snapshots for known aliases (see
  ``engine.MODEL_ALIASES``: ``gpt-4o-mini`` -> ``gpt-4o-mini-2024-07-18``,
  ``gpt-4o`` -> ``gpt-4o-2024-08-06``, ``gpt-4.1-mini`` ->
  ``gpt-4.1-mini-2025-04-14``, ``o4-mini`` -> ``o4-mini-2025-04-16``,
  ``gpt-5-mini`` -> ``gpt-5-mini-2025-08-07``, ``claude-sonnet-4-5`` ->
  ``claude-sonnet-4-5-20250929``, ``claude-haiku-4-5`` ->
  ``claude-haiku-4-5-20251001``…); other ids are echoed.  Embeddings echo the
  model.  ``system_fingerprint`` is ``fp_`` + a hash of the model;
  ``service_tier`` echoes the request's (``default`` for none/auto).
* Ids (``chatcmpl-…``, ``resp_…``, ``msg_01…``, ``x-request-id`` /
  ``request-id`` headers) are hashes of method, route and body: identical
  requests get identical ids.  ``created``/``created_at`` are the wall clock
  unless ``fixed_time`` is set.
* Embeddings: bag-of-words feature hashing (lowercased words and bigrams,
  hashed with blake2b into a dimension and a sign, L2-normalised, so texts
  sharing words are close; a hash vector for text with no words), float32 values, so the
  float and base64 forms decode to the same numbers); 1536 dims (3072 for
  ``text-embedding-3-large``) unless ``dimensions`` is given; usage
  ``prompt_tokens`` = words (or token-id count).

Timing
------
Server defaults (``latency_ms``, ``ttft_ms``, ``chunk_delay_ms``), overridden
per request by the headers ``x-llm-latency-ms``, ``x-llm-ttft-ms``,
``x-llm-chunk-delay-ms``.  Non-streaming replies wait ``latency_ms``; streams
wait ``ttft_ms`` before the headers and first event, then ``chunk_delay_ms``
between events.  The transports never sleep.
"""

from .engine import HEADER_BEHAVIORS, HEADER_CHUNK_DELAY, HEADER_LATENCY, HEADER_TTFT, TRIGGERS, LocalLLMConfig
from .server import LocalLLMServer, RecordedRequest

__all__ = [
    "HEADER_BEHAVIORS",
    "HEADER_CHUNK_DELAY",
    "HEADER_LATENCY",
    "HEADER_TTFT",
    "TRIGGERS",
    "LocalLLMConfig",
    "LocalLLMServer",
    "RecordedRequest",
]
