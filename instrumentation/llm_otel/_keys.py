"""Shared constants of the invocation life cycle (kept apart to avoid import cycles)."""

from opentelemetry.context import create_key

INVOCATION_KEY = create_key("llm_otel.invocation")
AGENT_KEY = create_key("llm_otel.agent")  # the innermost agent: names its tool calls, counts its calls
NEW, STARTED, FINISHED = 0, 1, 2
