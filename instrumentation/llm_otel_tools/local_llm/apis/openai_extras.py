"""OpenAI-family shapes served by rewriting them onto the engine's own routes.

* Legacy completions ``POST /v1/completions`` (``client.completions.create``): the prompt is read as one
  user message; the answer is the chat answer written as ``text_completion`` objects (``choices[].text``,
  ``max_tokens`` defaults to 16 as on OpenAI; streams without the role chunk).
* Azure OpenAI (``AzureOpenAI(azure_endpoint=srv.base_url, api_version=...)``):
  ``/openai/deployments/{deployment}/{chat/completions|completions|embeddings}?api-version=...`` and
  ``/openai/{responses|...}?api-version=...``; the deployment name is the model the answer names.
  (``/openai/v1/...`` stays Groq's.)
* Anthropic on Vertex AI (``AnthropicVertex(base_url=srv.base_url + "/v1", region=..., project_id=...,
  access_token=...)``): ``/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict``
  and ``:streamRawPredict`` (the model travels in the path, ``@`` before the date as on Vertex).
  Anthropic on Bedrock needs nothing here: ``AnthropicBedrock`` posts Bedrock's InvokeModel paths (``bedrock``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from .. import engine
from ..engine import LocalLLMConfig, Reply

_AZURE_DEPLOYMENT = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)(?P<rest>/(?:chat/completions|completions|embeddings))$")
_AZURE_PLAIN = re.compile(r"^/openai(?P<rest>/(?:responses|models)(?:/.*)?)$")
_VERTEX_ANTHROPIC = re.compile(r"^/v1[a-z0-9]*/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/(?P<model>[^:/]+):(?P<op>rawPredict|streamRawPredict)$")
_LEGACY_DEFAULT_MAX_TOKENS = 16


def route(method: str, path: str, headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig, now: int) -> Reply | None:
    route, _, query = path.partition("?")
    route = route.rstrip("/")
    if route in ("/v1/completions", "/completions") and method == "POST":
        return _legacy_completion(headers, body, cfg, now)
    match = _AZURE_DEPLOYMENT.match(route)
    if match is not None:
        body = _with(body, model=unquote(match["deployment"]))
        return engine.handle(method, "/v1" + match["rest"], headers, body, cfg, now=now)
    match = _AZURE_PLAIN.match(route)
    if match is not None and "api-version=" in query:
        return engine.handle(method, "/v1" + match["rest"], headers, body, cfg, now=now)
    match = _VERTEX_ANTHROPIC.match(route)
    if match is not None and method == "POST":
        extra: dict[str, Any] = {"model": unquote(match["model"]).replace("@", "-")}
        if match["op"] == "streamRawPredict":
            extra["stream"] = True
        return engine.handle(method, "/v1/messages", headers, _with(body, **extra), cfg, now=now)
    return None


def _with(body: bytes, **fields: Any) -> bytes:
    """The JSON body with ``fields`` set (an unreadable body is left for the engine to reject)."""
    try:
        req = json.loads(body or b"{}")
    except ValueError:
        return body
    if not isinstance(req, dict):
        return body
    return json.dumps({**req, **fields}).encode()


def _legacy_completion(headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig, now: int) -> Reply:
    try:
        req = json.loads(body or b"{}")
    except ValueError:
        req = None
    if not isinstance(req, dict) or "prompt" not in req:
        return engine.handle("POST", "/v1/chat/completions", headers, body, cfg, now=now)  # the engine's 400
    prompt = req.pop("prompt")
    text = prompt if isinstance(prompt, str) else " ".join(p for p in prompt or () if isinstance(p, str))
    chat = {**req, "messages": [{"role": "user", "content": text}]}
    chat.setdefault("max_tokens", _LEGACY_DEFAULT_MAX_TOKENS)
    reply = engine.handle("POST", "/v1/chat/completions", headers, json.dumps(chat).encode(), cfg, now=now)
    if reply.status != 200:
        return reply
    if reply.events is None:
        try:
            reply.body = engine._dumps(_as_completion(json.loads(reply.body))).encode()
        except ValueError:
            pass  # the "malformed" trigger: sent as it is
        return reply
    reply.events = [frame for frame in (_frame(f) for f in reply.events) if frame is not None]
    return reply


def _as_completion(obj: dict[str, Any]) -> dict[str, Any]:
    out = {**obj, "id": "cmpl-" + str(obj.get("id", "")).removeprefix("chatcmpl-"), "object": "text_completion"}
    out["choices"] = [
        {"text": (c.get("message") or c.get("delta") or {}).get("content") or "", "index": c.get("index", 0),
         "logprobs": None, "finish_reason": c.get("finish_reason")}
        for c in obj.get("choices") or ()
    ]
    return out


def _frame(frame: bytes) -> bytes | None:
    """One chat SSE frame as a completions frame; None for frames the legacy API does not send (role only)."""
    data = frame.decode().strip()
    if not data.startswith("data: ") or data == "data: [DONE]":
        return frame
    try:
        chunk = json.loads(data[len("data: "):])
    except ValueError:
        return frame
    choices = chunk.get("choices") or []
    if choices and all(not (c.get("delta") or {}).get("content") and not c.get("finish_reason") for c in choices):
        return None
    return engine._sse(_as_completion(chunk))
