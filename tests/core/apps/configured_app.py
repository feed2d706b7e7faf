"""A tiny app for the configure() tests: runs one RAG workflow and reports as JSON on stderr."""

import json
import os
import sys
import time

import llm_otel
from opentelemetry import trace

mode = sys.argv[1] if len(sys.argv) > 1 else "configure"
env_before = dict(os.environ)
if mode == "preinstalled":
    from opentelemetry.sdk.trace import TracerProvider

    mine = TracerProvider()
    trace.set_tracer_provider(mine)
result = None
if mode in ("configure", "preinstalled", "twice"):
    result = llm_otel.configure(service_name="fallback-name")
    if mode == "twice":
        assert llm_otel.configure() is result

started = time.perf_counter()
with llm_otel.workflow("rag"):
    with llm_otel.retrieval(data_source="kb", top_k=2) as r:
        r.documents = [("a", 0.5)]
    for _ in range(int(os.environ.get("APP_CALLS", "1"))):
        with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
            call.input_tokens, call.output_tokens = 10, 5
elapsed = time.perf_counter() - started

provider = trace.get_tracer_provider()
report = {
    "provider": type(provider).__name__,
    "is_mine": mode == "preinstalled" and provider is mine,
    "installed": list(result.installed) if result else None,
    "env_unchanged": dict(os.environ) == env_before,
    "elapsed": elapsed,
    "service_name": getattr(getattr(provider, "resource", None), "attributes", {}).get("service.name"),
}
if hasattr(provider, "force_flush"):
    provider.force_flush()
print("REPORT " + json.dumps(report), file=sys.stderr)
