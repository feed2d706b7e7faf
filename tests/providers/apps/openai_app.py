"""Calls the local LLM through the openai SDK; telemetry set up only from outside."""

import os
import sys

mode = sys.argv[1] if len(sys.argv) > 1 else ""
if mode == "configure-first":  # configure() before the app imports the SDK: patched on that import
    import llm_otel

    llm_otel.configure()
    assert "openai" not in sys.modules, "configure() imported openai"

import openai  # noqa: E402

if mode == "configure":
    import llm_otel

    llm_otel.configure()

client = openai.OpenAI(base_url=os.environ["LOCAL_LLM_URL"], api_key="sk-test", max_retries=0)
reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}],
                                            stream=True, stream_options={"include_usage": True}):
    pass
print("REPLY", reply.choices[0].message.content, file=sys.stderr)
