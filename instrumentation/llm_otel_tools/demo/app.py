"""The instrumented demo LLM service: FastAPI + the real ``openai`` SDK + llm_otel.

``create_app(settings)`` builds the app; it never configures OpenTelemetry providers (the
runner, :mod:`llm_otel_tools.demo.serve`, calls ``llm_otel.configure()``, which also turns on the
OpenAI SDK instrumentor). Endpoints:

``POST /generate``  {prompt, model?, stream?, max_tokens?} -> one chat completion (or SSE deltas)
``POST /rag``       {question, top_k?} -> ``invoke_workflow rag``: query embedding, retrieval from an
                    in-process Qdrant collection over the bundled corpus (traced by the Qdrant
                    instrumentor, no manual span), an answer grounded in the documents
``POST /agent``     {task} -> ``invoke_agent demo-agent``: chat with tools (calculator,
                    lookup_price) until the model answers, at most ``agent_max_steps`` calls
``POST /graph``     {task} -> the same assistant as a LangGraph agent (:mod:`llm_otel_tools.demo.graph`):
                    ``invoke_agent demo-graph`` from llm_otel's LangChain instrumentor
``POST /feedback``  {trace_id, score, label?, comment?} -> ``llm_otel.record_feedback``
``GET /health``

Every JSON body (errors included) carries ``trace_id`` (the request's trace, 32 hex) and
``llm_calls``: one entry per model call the request made, ``{operation, model,
response_model, input_tokens, output_tokens, ok, error_type}``, so a client can count exactly
what the telemetry should show. Model failures become HTTP 429 (rate limited upstream),
504 (timeout) or 502 (anything else), with a JSON ``error``.

Streams (``stream: true``) answer ``text/event-stream``: ``event: delta`` frames
(``{"text": ...}``), then one ``event: done`` (the same body as the JSON answer) or
``event: error`` frame.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import llm_otel
import openai
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from opentelemetry import trace
from pydantic import BaseModel, Field

from llm_otel_tools.demo import providers
from llm_otel_tools.demo.tool_client import ToolServer
from llm_otel_tools.demo.vectorstore import Document, VectorStore, load_corpus

SERVICE_NAME = "llm-otel-demo"
AGENT_NAME = "demo-agent"
VECTOR_PROVIDER = "qdrant"

RAG_SYSTEM_PROMPT = (
    "You are the documentation assistant of an observability team. Answer the question using only "
    "the documents below and cite the ids of the documents you used in square brackets. If the "
    "documents do not contain the answer, say that you do not know."
)
AGENT_SYSTEM_PROMPT = (
    "You are a shop assistant. Use the calculator for arithmetic and lookup_price for product "
    "prices and stock; answer with the tool results."
)


# -- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSettings:
    """Where the model is and how the service uses it (``from_env`` reads the usual variables)."""

    openai_base_url: str | None = None  # OPENAI_BASE_URL (None: the SDK's default, api.openai.com)
    openai_api_key: str | None = None  # OPENAI_API_KEY
    model: str = "gpt-4o-mini"  # LLM_OTEL_DEMO_MODEL (default: the provider's default model)
    embedding_model: str = "text-embedding-3-small"  # LLM_OTEL_DEMO_EMBEDDING_MODEL
    embedding_dimensions: int = 512  # LLM_OTEL_DEMO_EMBEDDING_DIMENSIONS
    max_retries: int = 0  # LLM_OTEL_DEMO_MAX_RETRIES: 0 so every failure shows as it happens
    timeout_s: float = 60.0  # LLM_OTEL_DEMO_TIMEOUT
    rag_top_k: int = 3
    agent_max_steps: int = 4
    provider: str = "openai"  # LLM_OTEL_DEMO_PROVIDER: another SDK through the local LLM (demo/providers.py)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DemoSettings:
        env = os.environ if env is None else env
        provider = env.get("LLM_OTEL_DEMO_PROVIDER") or cls.provider
        models = providers.MODELS.get(provider, (cls.model, cls.embedding_model))
        return cls(
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            model=env.get("LLM_OTEL_DEMO_MODEL") or models[0],
            embedding_model=env.get("LLM_OTEL_DEMO_EMBEDDING_MODEL") or models[1],
            embedding_dimensions=int(env.get("LLM_OTEL_DEMO_EMBEDDING_DIMENSIONS") or cls.embedding_dimensions),
            max_retries=int(env.get("LLM_OTEL_DEMO_MAX_RETRIES") or cls.max_retries),
            timeout_s=float(env.get("LLM_OTEL_DEMO_TIMEOUT") or cls.timeout_s),
            provider=provider,
        )

    def client(self) -> Any:
        if self.provider not in ("openai", *providers.OPENAI_SHAPED):  # the local LLM's root serves every API
            return providers.ProviderClient(self.provider, (self.openai_base_url or "").removesuffix("/v1"), self.timeout_s)
        return openai.AsyncOpenAI(
            base_url=self.openai_base_url,
            api_key=self.openai_api_key or "sk-not-set",
            max_retries=self.max_retries,
            timeout=self.timeout_s,
        )


# -- request bodies --------------------------------------------------------------------------


class GenerateRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=100_000)
    model: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9._:/@+-]+$")  # a model id, not text
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)


class RagRequest(BaseModel):
    question: str = Field(min_length=1, max_length=10_000)
    top_k: int | None = Field(default=None, ge=1, le=10)


class AgentRequest(BaseModel):
    task: str = Field(min_length=1, max_length=10_000)


class FeedbackRequest(BaseModel):
    trace_id: str = Field(pattern=r"^[0-9a-fA-F]{32}$")
    score: float
    label: str | None = Field(default=None, max_length=64)
    comment: str | None = Field(default=None, max_length=4_096)


# -- model-call bookkeeping ------------------------------------------------------------------


class UpstreamError(Exception):
    """A model call failed; carries the HTTP status the service answers with."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.upstream_status: int | None = getattr(cause, "status_code", None)
        if isinstance(cause, openai.RateLimitError) or self.upstream_status == 429 or getattr(cause, "code", None) == 429:
            self.status, self.kind = 429, "upstream_rate_limited"
        elif isinstance(cause, openai.APITimeoutError):
            self.status, self.kind = 504, "upstream_timeout"
        else:
            self.status, self.kind = 502, "upstream_error"


class CallLog:
    """The model calls one request made (``llm_calls`` in every response body)."""


    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def ok(self, operation: str, model: str, response_model: str | None, input_tokens: int | None, output_tokens: int | None) -> None:
        self.calls.append({"operation": operation, "model": model, "response_model": response_model,
                           "input_tokens": input_tokens, "output_tokens": output_tokens, "ok": True, "error_type": None})

    def failed(self, operation: str, model: str, exc: BaseException) -> None:
        self.calls.append({"operation": operation, "model": model, "response_model": None,
                           "input_tokens": None, "output_tokens": None, "ok": False, "error_type": type(exc).__name__})

    async def call(self, operation: str, model: str, request: Awaitable[Any], *, stream: bool = False) -> Any:
        """Await one SDK call; record it; turn SDK errors into :class:`UpstreamError`.

        A stream that opens is recorded by whoever reads it to the end, not here.
        """
        try:
            result = await request
        except Exception as exc:
            if not isinstance(exc, (openai.OpenAIError, *providers.errors())):
                raise
            self.failed(operation, model, exc)
            raise UpstreamError(exc) from exc
        if stream:
            return result
        usage = getattr(result, "usage", None)
        if operation == "embeddings":
            self.ok(operation, model, getattr(result, "model", None), getattr(usage, "prompt_tokens", None), 0 if usage else None)
        else:
            self.ok(operation, model, getattr(result, "model", None),
                    getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
        return result

    def usage(self) -> dict[str, int]:
        return {
            "input_tokens": sum(c["input_tokens"] or 0 for c in self.calls),
            "output_tokens": sum(c["output_tokens"] or 0 for c in self.calls),
        }


def current_trace_id() -> str | None:
    """The current trace id as 32 hex characters (None outside a recorded trace)."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def _calls(request: Request) -> CallLog:
    log = getattr(request.state, "llm_calls", None)
    if log is None:
        log = request.state.llm_calls = CallLog()
    return log


_QUERY_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.query")


def _redact_query(span: Any, scope: dict[str, Any]) -> None:
    """Server spans keep the query's keys, never its values (a token or an e-mail in a URL)."""
    attributes = getattr(span, "attributes", None)
    if not attributes or not span.is_recording():
        return
    for key in _QUERY_ATTRIBUTES:
        value = attributes.get(key)
        if not isinstance(value, str) or not value:
            continue
        base, sep, query = ("", "", value) if key == "url.query" else value.partition("?")
        if query:
            redacted = "&".join(f"{pair.split('=', 1)[0]}=REDACTED" for pair in query.split("&") if pair)
            span.set_attribute(key, f"{base}{sep}{redacted}")


def _body(request: Request, **fields: Any) -> dict[str, Any]:
    return {**fields, "trace_id": current_trace_id(), "llm_calls": _calls(request).calls}


def _errors(exc: RequestValidationError) -> Any:
    """Validation errors without the input they echo (a lone surrogate cannot be encoded: it was a 500;
    a 200,000-character value need not come back)."""
    return jsonable_encoder([{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in exc.errors()])


def _error(request: Request, status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(_body(request, error={"type": kind, "message": message, **extra}), status_code=status)


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


# -- the service -------------------------------------------------------------------------------


class DemoService:
    """State shared by the endpoints: the SDK client, the vector store, the tools."""

    def __init__(self, settings: DemoSettings, client: openai.AsyncOpenAI | None = None) -> None:
        self.settings = settings
        self.client = client or settings.client()
        root = (settings.openai_base_url or "").removesuffix("/").removesuffix("/v1") or None
        self.chat = providers.chat_client(
            settings.provider, root, settings.openai_api_key, settings.max_retries, settings.timeout_s
        ) or self.client
        self.corpus: list[Document] = load_corpus()
        self.store = VectorStore(settings.embedding_dimensions)
        self.tool_server = ToolServer()  # the tools run in an MCP server process
        self._indexed = False
        self._index_lock: asyncio.Lock | None = None

    @property
    def indexed(self) -> bool:
        return self._indexed

    async def embed(self, log: CallLog, texts: list[str]) -> list[list[float]]:
        model = self.settings.embedding_model
        result = await log.call("embeddings", model, self.client.embeddings.create(
            model=model, input=texts, dimensions=self.settings.embedding_dimensions, encoding_format="float"))
        return [list(d.embedding) for d in sorted(result.data, key=lambda d: d.index)]

    async def ensure_index(self, log: CallLog) -> None:
        """Embed the corpus once (lazily, so the call shows up in the request that caused it)."""
        if self._indexed:
            return
        if self._index_lock is None:
            self._index_lock = asyncio.Lock()
        async with self._index_lock:
            if self._indexed:
                return
            vectors = await self.embed(log, [f"{d.title}. {d.text}" for d in self.corpus])
            self.store.add(self.corpus, vectors)
            self._indexed = True

    # -- endpoints' work ---------------------------------------------------------------------
    async def generate(self, body: GenerateRequest, request: Request) -> Any:
        log = _calls(request)
        model = body.model or self.settings.model
        kwargs: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": body.prompt}]}
        if body.max_tokens is not None:
            kwargs["max_tokens"] = body.max_tokens
        if body.stream:
            # Errors before the first chunk (HTTP 4xx/5xx) surface here, as a JSON error.
            stream = await log.call("chat", model, self.chat.chat.completions.create(
                **kwargs, stream=True, stream_options={"include_usage": True}), stream=True)
            trace_id = current_trace_id()
            return StreamingResponse(self._stream(stream, log, model, trace_id), media_type="text/event-stream",
                                     headers={"cache-control": "no-cache", "x-trace-id": trace_id or ""})
        reply = await log.call("chat", model, self.chat.chat.completions.create(**kwargs))
        choice = reply.choices[0]
        return _body(request, response=choice.message.content or "", model=reply.model,
                     finish_reason=choice.finish_reason, usage=log.usage())

    async def _stream(self, stream: Any, log: CallLog, model: str, trace_id: str | None) -> AsyncIterator[bytes]:
        parts: list[str] = []
        usage = None
        response_model = finish_reason = None
        try:
            async for chunk in stream:
                response_model = chunk.model or response_model
                # (LiteLLM's chunks have it only when set; Groq's last chunk has it under x_groq)
                usage = getattr(chunk, "usage", None) or getattr(getattr(chunk, "x_groq", None), "usage", None) or usage
                for choice in chunk.choices:
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
                    text = choice.delta.content if choice.delta else None
                    if text:
                        parts.append(text)
                        yield _sse("delta", {"text": text})
        except Exception as exc:  # a stream that breaks mid-way: the chat span has the error
            log.failed("chat", model, exc)
            error = UpstreamError(exc)
            yield _sse("error", {"error": {"type": error.kind, "message": str(exc)}, "trace_id": trace_id, "llm_calls": log.calls})
            return
        finally:
            close = getattr(stream, "aclose", None) or getattr(stream, "close", None)  # LiteLLM's async close is aclose
            if close is not None:
                await close()
        log.ok("chat", model, response_model, getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
        yield _sse("done", {"response": "".join(parts), "model": response_model, "finish_reason": finish_reason,
                            "usage": log.usage(), "trace_id": trace_id, "llm_calls": log.calls})

    async def rag(self, body: RagRequest, request: Request) -> Any:
        log = _calls(request)
        top_k = body.top_k or self.settings.rag_top_k
        with llm_otel.workflow("rag"):
            await self.ensure_index(log)
            (query_vector,) = await self.embed(log, [body.question])
            hits = self.store.search(query_vector, top_k)  # the Qdrant instrumentor makes the retrieval span
            context = "\n".join(f"[{h.id}] {h.title}: {h.text}" for h in hits)
            model = self.settings.model
            reply = await log.call("chat", model, self.chat.chat.completions.create(model=model, messages=[
                {"role": "system", "content": f"{RAG_SYSTEM_PROMPT}\n\nDocuments:\n{context}"},
                {"role": "user", "content": body.question},
            ]))
        return _body(request, answer=reply.choices[0].message.content or "", model=reply.model,
                     sources=[{"id": h.id, "title": h.title, "score": h.score} for h in hits], usage=log.usage())

    async def agent(self, body: AgentRequest, request: Request) -> Any:
        log = _calls(request)
        model = self.settings.model
        definitions = await self.tool_server.definitions()
        messages: list[dict[str, Any]] = [{"role": "system", "content": AGENT_SYSTEM_PROMPT}, {"role": "user", "content": body.task}]
        steps: list[dict[str, Any]] = []
        answer = ""
        reply = None
        with llm_otel.agent(name=AGENT_NAME, description="shop assistant with a calculator and a price lookup"):
            for step in range(self.settings.agent_max_steps):
                last = step == self.settings.agent_max_steps - 1  # the last call must answer
                reply = await log.call("chat", model, self.chat.chat.completions.create(
                    model=model, messages=messages, tools=definitions, tool_choice="none" if last else "auto"))
                message = reply.choices[0].message
                if not message.tool_calls:
                    answer = message.content or ""
                    break
                messages.append(message.model_dump(exclude_none=True))
                for call in message.tool_calls:
                    result, ok = await self._run_tool(call)
                    steps.append({"tool": call.function.name, "arguments": call.function.arguments, "result": result, "ok": ok})
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        return _body(request, answer=answer, model=reply.model if reply else model, steps=steps, usage=log.usage())

    async def _run_tool(self, call: Any) -> tuple[str, bool]:
        """One tool call through MCP: one ``execute_tool`` span with the call id and the MCP attributes."""
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except ValueError as exc:
            return f"error: arguments are not JSON: {exc}", False
        result, ok = await self.tool_server.call(call.function.name, arguments, call_id=call.id)
        return (result, True) if ok else (f"error: {result}", False)


def create_app(
    settings: DemoSettings | None = None,
    *,
    client: openai.AsyncOpenAI | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    on_shutdown: Sequence[Callable[[], Any]] = (),
) -> FastAPI:
    """The demo service. Providers default to the global ones (``llm_otel.configure()``).

    ``on_shutdown`` callables run when the app's lifespan ends (the runner flushes telemetry
    there: uvicorn re-raises SIGTERM after shutdown, so ``atexit`` hooks never run).
    """
    settings = settings or DemoSettings.from_env()
    service = DemoService(settings, client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await service.client.close()
        if service.chat is not service.client:
            await service.chat.close()
        service.store.close()
        await service.tool_server.aclose()
        for hook in on_shutdown:
            hook()

    app = FastAPI(title="llm-otel demo service", version=llm_otel.__version__, lifespan=lifespan)
    app.state.service = service

    @app.exception_handler(UpstreamError)
    async def upstream_error(request: Request, exc: UpstreamError) -> JSONResponse:
        extra = {"upstream_status": exc.upstream_status} if exc.upstream_status else {}
        return _error(request, exc.status, exc.kind, str(exc.cause), **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(request, 422, "invalid_request", "the request body is not valid", detail=_errors(exc))

    @app.post("/generate")
    async def generate(body: GenerateRequest, request: Request) -> Any:
        return await service.generate(body, request)

    @app.post("/rag")
    async def rag(body: RagRequest, request: Request) -> Any:
        return await service.rag(body, request)

    @app.post("/agent")
    async def agent(body: AgentRequest, request: Request) -> Any:
        return await service.agent(body, request)

    graphs: dict[str, Any] = {}  # the LangGraph agent, built on first use (LangGraph imports are slow)

    @app.post("/graph")
    async def graph(body: AgentRequest, request: Request) -> Any:
        from llm_otel_tools.demo import graph as demo_graph
        from llm_otel_tools.demo.tools import ProductCatalog, make_tools

        if not graphs:  # the same tools as /agent, run in process by LangGraph (its own tool node)
            graphs["agent"] = demo_graph.build_graph(
                make_tools(ProductCatalog()), model=settings.model, base_url=settings.openai_base_url,
                api_key=settings.openai_api_key or "sk-not-set", max_retries=settings.max_retries,
                timeout_s=settings.timeout_s, system_prompt=AGENT_SYSTEM_PROMPT)
        try:
            state = await graphs["agent"].ainvoke({"messages": [("user", body.task)]},
                                                {"recursion_limit": 2 * settings.agent_max_steps + 1})
        except openai.OpenAIError as exc:
            raise UpstreamError(exc) from exc
        messages = state["messages"]
        request.state.llm_calls = log = CallLog()
        log.calls = demo_graph.llm_calls(messages)
        return _body(request, answer=messages[-1].content, model=settings.model, steps=demo_graph.steps(messages),
                     usage=log.usage())

    @app.post("/feedback")
    async def feedback(body: FeedbackRequest, request: Request) -> Any:
        try:
            # False when only the event carries the score (a negative one: histograms take none)
            on_metric = llm_otel.record_feedback(body.trace_id.lower(), body.score, label=body.label,
                                                 comment=body.comment)
        except ValueError as exc:
            return _error(request, 400, "invalid_feedback", str(exc))
        return _body(request, recorded=True, score_on_metric=on_metric, feedback_trace_id=body.trace_id.lower())

    @app.get("/health")
    async def health(request: Request) -> Any:
        return _body(request, status="ok", model=settings.model, embedding_model=settings.embedding_model,
                     index={"documents": len(service.corpus), "indexed": service.indexed,
                            "vector_store": f"{VECTOR_PROVIDER} {service.store.version}"})

    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # Server spans (and http.server metrics) only: no per-ASGI-message "http send/receive" spans.
    # and no query values on them (``?token=...`` would be in http.target / url.query)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider, meter_provider=meter_provider,
                                       exclude_spans=["receive", "send"], server_request_hook=_redact_query)
    return app
