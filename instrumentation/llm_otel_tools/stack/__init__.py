"""Run the llm-otel pipeline (Collector, Jaeger, Prometheus, Alertmanager) as local processes.

>>> from llm_otel_tools.stack import Stack
>>> endpoints = Stack("/tmp/llm-otel-stack").up(free_ports=True)
>>> endpoints.otlp_grpc, endpoints.jaeger_query, endpoints.prometheus

CLI: ``llm-otel stack up|down|status [--json] [--docker] [--state-dir DIR]`` or
``python -m llm_otel_tools.stack up``. Standard library only.
"""

from llm_otel_tools.stack._cli import main
from llm_otel_tools.stack._stack import APT_HINT, DEFAULT_PORTS, GO_HINT, Endpoints, Stack, StackError, find_repo_root

__all__ = ["APT_HINT", "DEFAULT_PORTS", "GO_HINT", "Endpoints", "Stack", "StackError", "find_repo_root", "main"]
