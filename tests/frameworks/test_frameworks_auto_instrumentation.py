"""`opentelemetry-instrument` and `llm_otel.configure()` pick the framework instrumentors up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors import KNOWN

APP = Path(__file__).parent / "apps" / "langgraph_app.py"
NAMES = ("llm_otel_langchain", "llm_otel_llama_index", "llm_otel_openai_agents")


def _run(llm_server, *args: str, via_instrument: bool = False) -> tuple[list[dict], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
                "LOCAL_LLM_URL": llm_server.openai_base_url})
    cmd = [sys.executable, str(APP), *args]
    if via_instrument:
        cmd = [str(Path(sys.executable).parent / "opentelemetry-instrument"), *cmd]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    decoder, spans, index = json.JSONDecoder(), [], 0
    while (start := proc.stdout.find("{", index)) >= 0:
        obj, index = decoder.raw_decode(proc.stdout, start)
        if "context" in obj and "name" in obj:
            spans.append(obj)
    return spans, proc.stderr


def test_entry_points_and_known_table_name_the_framework_instrumentors():
    registered = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")}
    for name in NAMES:
        assert registered[name] == KNOWN[name][1], f"reinstall the package (pip install -e .) to register {name}"


@pytest.mark.parametrize("via_instrument", [True, False], ids=["opentelemetry-instrument", "configure"])
def test_a_langgraph_app_is_traced_without_code_changes(llm_server, via_instrument):
    spans, stderr = _run(llm_server, *(() if via_instrument else ("configure",)), via_instrument=via_instrument)
    names = sorted(s["name"] for s in spans)
    assert names == ["chat gpt-4o-mini", "chat gpt-4o-mini", "execute_tool get_weather", "invoke_agent weather-agent"]
    agent = next(s for s in spans if s["name"] == "invoke_agent weather-agent")
    for span in spans:
        if span is not agent:
            assert span["parent_id"] == agent["context"]["span_id"]
    chat = next(s for s in spans if s["name"] == "chat gpt-4o-mini")
    assert chat["attributes"][sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    if not via_instrument:
        assert "IMPORTED []" in stderr  # configure() imported no framework by itself
