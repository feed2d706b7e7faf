"""Which provider the demo's chat calls go to (``LLM_OTEL_DEMO_PROVIDER`` / ``llm-otel demo --provider``).

``openai`` (the default) uses the OpenAI client for everything. ``groq`` sends chat to the
real ``groq`` SDK and ``bedrock`` to AWS Bedrock through LiteLLM (which answers in OpenAI's
shapes, so the service code stays one); both against the same local LLM server, whose root
URL is ``OPENAI_BASE_URL`` without ``/v1``. Embeddings stay on the OpenAI client (Groq has
none). Each call is traced by its SDK's instrumentor, with its own provider name.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODELS = {"openai": "gpt-4o-mini", "groq": "llama-3.3-70b-versatile",
                  "bedrock": "us.anthropic.claude-3-5-haiku-20241022-v1:0"}


def upstream_errors(provider: str) -> tuple[type[BaseException], ...]:
    import openai

    if provider == "groq":
        import groq

        return (openai.OpenAIError, groq.GroqError)
    return (openai.OpenAIError,)  # LiteLLM's exceptions derive from OpenAI's


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
    """The chat client for ``provider``; None means the OpenAI client."""
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
    if provider != "openai":
        raise ValueError(f"unknown demo provider {provider!r} (openai, groq, bedrock)")
    return None
