"""``llm-otel``: the command line.

    llm-otel stack up|down|status     run the Collector, Jaeger, Prometheus, Alertmanager
    llm-otel demo [--requests N]      stack + instrumented service + traffic + report
    llm-otel report [--window 15m]    per-model summary from Prometheus
    llm-otel trace TRACE_ID           one trace from Jaeger as a tree
    llm-otel traces --service S       recent traces
    llm-otel events [--name N]        gen_ai events (evaluations, feedback) the stack received
    llm-otel local-llm                the local OpenAI/Anthropic-compatible LLM server

Each subcommand lives in its own module and is imported only when used.
"""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, function taking argv and returning an exit code)
COMMANDS = {
    "stack": ("llm_otel_tools.stack", "main"),
    "demo": ("llm_otel_tools.demo.cli", "main"),
    "report": ("llm_otel_tools.readside.report", "main"),
    "trace": ("llm_otel_tools.readside.traces", "main_trace"),
    "traces": ("llm_otel_tools.readside.traces", "main_traces"),
    "events": ("llm_otel_tools.readside.events", "main"),
    "local-llm": ("llm_otel_tools.local_llm.__main__", "main"),
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        print(__doc__.strip())
        return 0 if args and args[0] in ("-h", "--help") else 2
    module_name, function = COMMANDS[args[0]]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        print(f"llm-otel {args[0]}: needs the demo extras ({exc.name} is missing): pip install 'llm-otel[demo]'",
              file=sys.stderr)
        return 1
    return int(getattr(module, function)(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
