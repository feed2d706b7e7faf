"""The demo service on another provider's SDK: ``LLM_OTEL_DEMO_PROVIDER`` (or ``llm-otel demo
--provider``) = gemini, vertex_ai, mistral, ollama, cohere, groq or bedrock; the default stays openai.

``groq`` and ``bedrock`` answer in OpenAI's shapes (the ``groq`` SDK; Bedrock through LiteLLM), so only
their chat calls move (``chat_client``); embeddings stay on the OpenAI client.

``ProviderClient`` is the slice of ``openai.AsyncOpenAI`` the demo calls (``chat.completions.create``
with tools and streaming, ``embeddings.create``), answered by the chosen SDK's *real* async calls
against the local LLM server, so the traces show that SDK's instrumentation. It only reshapes
requests and replies; the SDK calls and their telemetry are the provider's own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from types import SimpleNamespace as NS
from typing import Any

PROVIDERS = ("openai", "gemini", "vertex_ai", "mistral", "ollama", "cohere", "groq", "bedrock")
OPENAI_SHAPED = ("groq", "bedrock")  # chat through their SDK, embeddings through OpenAI's
MODELS = {  # (chat model, embedding model) the demo uses per provider
    "gemini": ("gemini-2.0-flash", "text-embedding-004"),
    "vertex_ai": ("gemini-2.0-flash", "text-embedding-005"),
    "mistral": ("mistral-small-latest", "mistral-embed"),
    "ollama": ("llama3.2", "nomic-embed-text"),
    "cohere": ("command-r-plus", "embed-english-v3.0"),
    "groq": ("llama-3.3-70b-versatile", "text-embedding-3-small"),
    "bedrock": ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "text-embedding-3-small"),
}


_ERRORS = (("google.genai.errors", "APIError"), ("mistralai.client.errors", "MistralError"), ("ollama", "ResponseError"),
           ("cohere.core.api_error", "ApiError"), ("groq", "GroqError"), ("httpx", "HTTPError"),
           ("httpx2", "HTTPError"))  # LiteLLM's exceptions derive from OpenAI's


def errors() -> tuple[type[BaseException], ...]:
    """The exceptions the provider SDKs in use raise for failed calls (answered as upstream errors).
    Only SDKs already imported count: one that is not loaded cannot have raised, and importing
    them all would slow the service's start."""
    found = []
    for module, name in _ERRORS:
        loaded = sys.modules.get(module)
        if loaded is not None and hasattr(loaded, name):
            found.append(getattr(loaded, name))
    return tuple(found)


class _Message(NS):
    def model_dump(self, exclude_none: bool = False) -> dict[str, Any]:
        calls = [{"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
                 for c in self.tool_calls or ()]
        return {"role": "assistant", "content": self.content, **({"tool_calls": calls} if calls else {})}


def _reply(model: str, text: str | None, calls: list[tuple[str, str, str]], finish: str, usage: tuple[int, int]) -> Any:
    tool_calls = [NS(id=i, type="function", function=NS(name=n, arguments=a)) for i, n, a in calls] or None
    message = _Message(role="assistant", content=text, tool_calls=tool_calls)
    return NS(model=model, choices=[NS(index=0, message=message, finish_reason=finish)],
              usage=NS(prompt_tokens=usage[0], completion_tokens=usage[1]))


def _chunk(model: str, text: str | None = None, finish: str | None = None, usage: tuple[int, int] | None = None) -> Any:
    return NS(model=model, usage=NS(prompt_tokens=usage[0], completion_tokens=usage[1]) if usage else None,
              choices=[NS(index=0, delta=NS(content=text), finish_reason=finish)])


def _args(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments or {})


class _Stream:
    """OpenAI-shaped chunks over an SDK stream; ``close()`` closes the SDK's stream."""

    def __init__(self, chunks: AsyncIterator[Any], closer: Any) -> None:
        self._chunks, self._closer = chunks, closer

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._chunks

    async def close(self) -> None:
        result = self._closer()
        if hasattr(result, "__await__"):
            await result


class ProviderClient:
    def __init__(self, provider: str, base_url: str, timeout_s: float = 60.0) -> None:
        self.provider = provider
        self.chat = NS(completions=NS(create=self._chat))
        self.embeddings = NS(create=self._embed)
        if provider in ("gemini", "vertex_ai"):
            from google import genai
            from google.genai import types

            options = types.HttpOptions(base_url=base_url, timeout=int(timeout_s * 1000))
            self._sdk: Any = genai.Client(vertexai=provider == "vertex_ai", api_key="demo-key", http_options=options).aio
        elif provider == "mistral":
            from mistralai.client import Mistral

            self._sdk = Mistral(api_key="demo-key", server_url=base_url + "/mistral", timeout_ms=int(timeout_s * 1000))
        elif provider == "ollama":
            import ollama

            self._sdk = ollama.AsyncClient(host=base_url, timeout=timeout_s)
        elif provider == "cohere":
            import cohere

            self._sdk = cohere.AsyncClientV2(api_key="demo-key", base_url=base_url, timeout=timeout_s, max_retries=0)
        else:
            raise ValueError(f"unknown demo provider {provider!r}; one of {', '.join(PROVIDERS)}")

    async def close(self) -> None:
        return None

    # -- chat ---------------------------------------------------------------------------------
    async def _chat(self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                    tool_choice: str | None = None, max_tokens: int | None = None, stream: bool = False, **_: Any) -> Any:
        tools = None if tool_choice == "none" else tools
        return await getattr(self, f"_{self.provider.replace('vertex_ai', 'gemini')}")(model, messages, tools, max_tokens, stream)

    async def _gemini(self, model: str, messages: list[dict[str, Any]], tools: Any, max_tokens: int | None, stream: bool) -> Any:
        names = {c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or ()}
        system = "\n".join(m["content"] for m in messages if m["role"] == "system")
        contents = []
        for m in messages:
            if m["role"] == "user":
                contents.append({"role": "user", "parts": [{"text": m["content"]}]})
            elif m["role"] == "assistant":
                parts = [{"text": m["content"]}] if m.get("content") else []
                parts += [{"function_call": {"name": c["function"]["name"], "args": json.loads(c["function"]["arguments"] or "{}")}}
                          for c in m.get("tool_calls") or ()]
                contents.append({"role": "model", "parts": parts})
            elif m["role"] == "tool":
                contents.append({"role": "user", "parts": [{"function_response": {
                    "name": names.get(m["tool_call_id"], ""), "response": {"result": m["content"]}}}]})
        config: dict[str, Any] = {"system_instruction": system or None, "max_output_tokens": max_tokens}
        if tools:
            config["tools"] = [{"function_declarations": [t["function"] for t in tools]}]
        if stream:
            sdk_stream = await self._sdk.models.generate_content_stream(model=model, contents=contents, config=config)

            async def chunks() -> AsyncIterator[Any]:
                usage = None
                async for c in sdk_stream:
                    meta = c.usage_metadata
                    usage = (meta.prompt_token_count or 0, (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)) if meta else usage
                    yield _chunk(c.model_version or model, c.text)
                yield _chunk(model, None, "stop", usage)

            return _Stream(chunks(), sdk_stream.aclose)
        reply = await self._sdk.models.generate_content(model=model, contents=contents, config=config)
        calls = [(f"call_{i}", c.name or "", json.dumps(c.args or {})) for i, c in enumerate(reply.function_calls or ())]
        meta = reply.usage_metadata
        usage = (meta.prompt_token_count or 0, (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0))
        text = "".join(p.text or "" for p in reply.candidates[0].content.parts or () if p.text) or None
        return _reply(reply.model_version or model, text, calls, "tool_calls" if calls else "stop", usage)

    async def _mistral(self, model: str, messages: list[dict[str, Any]], tools: Any, max_tokens: int | None, stream: bool) -> Any:
        kwargs = {"model": model, "messages": messages, "tools": tools, "max_tokens": max_tokens}
        if stream:
            sdk_stream = await self._sdk.chat.stream_async(**kwargs)

            async def chunks() -> AsyncIterator[Any]:
                async for event in sdk_stream:
                    c = event.data
                    choice = c.choices[0] if c.choices else None
                    usage = (c.usage.prompt_tokens, c.usage.completion_tokens) if c.usage else None
                    yield _chunk(c.model, choice.delta.content if choice else None, choice.finish_reason if choice else None, usage)

            return _Stream(chunks(), sdk_stream.close)
        reply = await self._sdk.chat.complete_async(**kwargs)
        choice = reply.choices[0]
        calls = [(c.id, c.function.name, _args(c.function.arguments)) for c in choice.message.tool_calls or ()]
        return _reply(reply.model, choice.message.content, calls, choice.finish_reason, (reply.usage.prompt_tokens, reply.usage.completion_tokens))

    async def _ollama(self, model: str, messages: list[dict[str, Any]], tools: Any, max_tokens: int | None, stream: bool) -> Any:
        converted = [{**m, "tool_calls": [{"function": {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"] or "{}")}}
                                          for c in m["tool_calls"]]} if m.get("tool_calls") else m for m in messages]
        options = {"num_predict": max_tokens} if max_tokens else None
        if stream:
            sdk_stream = await self._sdk.chat(model=model, messages=converted, options=options, stream=True)

            async def chunks() -> AsyncIterator[Any]:
                async for part in sdk_stream:
                    usage = (part.prompt_eval_count or 0, part.eval_count or 0) if part.done else None
                    yield _chunk(part.model or model, part.message.content, part.done_reason, usage)

            return _Stream(chunks(), sdk_stream.aclose)
        reply = await self._sdk.chat(model=model, messages=converted, tools=tools, options=options)
        calls = [(f"call_{i}", c.function.name, _args(c.function.arguments)) for i, c in enumerate(reply.message.tool_calls or ())]
        finish = "tool_calls" if calls else reply.done_reason or "stop"
        return _reply(reply.model or model, reply.message.content or None, calls, finish, (reply.prompt_eval_count or 0, reply.eval_count or 0))

    async def _cohere(self, model: str, messages: list[dict[str, Any]], tools: Any, max_tokens: int | None, stream: bool) -> Any:
        kwargs = {"model": model, "messages": messages, "max_tokens": max_tokens}
        if tools:
            kwargs["tools"] = tools
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if stream:
            sdk_stream = self._sdk.chat_stream(**kwargs)

            async def chunks() -> AsyncIterator[Any]:
                async for event in sdk_stream:
                    if event.type == "content-delta":
                        yield _chunk(model, event.delta.message.content.text)
                    elif event.type == "message-end":
                        tokens = event.delta.usage.tokens if event.delta.usage else None
                        usage = (int(tokens.input_tokens or 0), int(tokens.output_tokens or 0)) if tokens else None
                        yield _chunk(model, None, event.delta.finish_reason, usage)

            return _Stream(chunks(), sdk_stream.aclose)
        reply = await self._sdk.chat(**kwargs)
        calls = [(c.id or f"call_{i}", c.function.name, c.function.arguments or "{}") for i, c in enumerate(reply.message.tool_calls or ())]
        text = "".join(c.text for c in reply.message.content or () if c.type == "text") or None
        tokens = reply.usage.tokens
        return _reply(model, text, calls, "tool_calls" if calls else "stop", (int(tokens.input_tokens or 0), int(tokens.output_tokens or 0)))

    # -- embeddings ------------------------------------------------------------------------------
    async def _embed(self, model: str, input: list[str], dimensions: int | None = None, **_: Any) -> Any:
        if self.provider in ("gemini", "vertex_ai"):
            reply = await self._sdk.models.embed_content(model=model, contents=input, config={"output_dimensionality": dimensions})
            vectors, tokens = [e.values for e in reply.embeddings], sum(len(t.split()) for t in input)
        elif self.provider == "mistral":
            reply = await self._sdk.embeddings.create_async(model=model, inputs=input, output_dimension=dimensions)
            vectors, tokens = [d.embedding for d in reply.data], reply.usage.prompt_tokens
        elif self.provider == "ollama":
            reply = await self._sdk.embed(model=model, input=input, dimensions=dimensions)
            vectors, tokens = list(reply.embeddings), reply.prompt_eval_count or 0
        else:
            reply = await self._sdk.embed(model=model, texts=input, input_type="search_document", embedding_types=["float"],
                                          output_dimension=dimensions)
            vectors, tokens = reply.embeddings.float_, int(reply.meta.billed_units.input_tokens or 0)
        return NS(model=model, data=[NS(index=i, embedding=v) for i, v in enumerate(vectors)], usage=NS(prompt_tokens=tokens))


class _Chat:
    """``client.chat.completions.create(**kwargs)`` for a provider that is not the OpenAI client."""

    def __init__(self, create: Any, close: Any) -> None:
        self.chat = self.completions = self
        self._create, self._close = create, close

    async def create(self, **kwargs: Any) -> Any:
        return await self._create(**kwargs)

    async def close(self) -> None:
        await self._close()


def chat_client(provider: str, root_url: str | None, api_key: str | None, max_retries: int, timeout: float) -> Any:
    """The chat client for an OpenAI-shaped provider (groq, bedrock); None: chat goes through the main client."""
    if provider == "groq":
        import groq

        client = groq.AsyncGroq(base_url=root_url, api_key=api_key or "gsk-not-set", max_retries=max_retries, timeout=timeout)

        async def create(**kwargs: Any) -> Any:
            kwargs.pop("stream_options", None)  # Groq reports stream usage in x_groq; its SDK has no such parameter
            return await client.chat.completions.create(**kwargs)

        return _Chat(create, client.close)
    if provider == "bedrock":
        import litellm

        async def create(**kwargs: Any) -> Any:
            model = kwargs.pop("model")
            return await litellm.acompletion(model=f"bedrock/{model}", aws_bedrock_runtime_endpoint=root_url,
                                             aws_access_key_id="demo", aws_secret_access_key="demo", aws_region_name="us-east-1",
                                             num_retries=max_retries, timeout=timeout, drop_params=True, **kwargs)

        async def close() -> None:
            return None

        return _Chat(create, close)
    return None
