"""``llm-otel``: the command line.

    llm-otel stack up|down|status     run the Collector, Jaeger, Prometheus, Alertmanager
    llm-otel demo [--requests N]      stack + instrumented service + traffic + report
    llm-otel report [--window 15m]    per-model summary from Prometheus
    llm-otel trace TRACE_ID           one trace from Jaeger as a tree
    llm-otel traces --service S       recent traces
    llm-otel events [--name N]        gen_ai events (evaluations, feedback) the stack received
    llm-otel local-llm                the local OpenAI/Anthropic-compatible LLM server

Each subcommand lives in its own module and is imported only when used. A subcommand that needs
an optional extra checks for it first and says which one to install.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from typing import NamedTuple


class Command(NamedTuple):
    module: str
    function: str
    """Takes argv, returns an exit code."""
    extra: str | None = None
    """The distribution extra whose packages the command needs (checked before import)."""


# To add a subcommand: one row here and a module with ``main(argv) -> int``.
COMMANDS = {
    "stack": Command("llm_otel_tools.stack", "main"),
    "demo": Command("llm_otel_tools.demo.cli", "main", extra="demo"),
    "report": Command("llm_otel_tools.readside.report", "main"),
    "trace": Command("llm_otel_tools.readside.traces", "main_trace"),
    "traces": Command("llm_otel_tools.readside.traces", "main_traces"),
    "events": Command("llm_otel_tools.readside.events", "main"),
    "local-llm": Command("llm_otel_tools.local_llm.__main__", "main"),
}
DISTRIBUTION = "llm-otel"


def missing_for_extra(extra: str) -> list[str]:
    """The requirements of ``llm-otel[extra]`` that are not installed (read from the installed metadata)."""
    from packaging.requirements import Requirement

    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    missing = []
    for line in requires:
        req = Requirement(line)
        if req.marker is None or not req.marker.evaluate({"extra": extra}):
            continue
        if req.marker.evaluate({"extra": ""}):
            continue  # a core dependency, not this extra's
        try:
            importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(req.name)
    return missing


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    doc = __doc__ or ""
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        print(doc.strip())
        return 0 if args and args[0] in ("-h", "--help") else 2
    command = COMMANDS[args[0]]
    hint = f"pip install 'llm-otel[{command.extra}]'" if command.extra else ""
    if command.extra and (missing := missing_for_extra(command.extra)):
        print(f"llm-otel {args[0]} needs the '{command.extra}' extra (missing: {', '.join(missing)}): {hint}",
              file=sys.stderr)
        return 1
    try:
        module = importlib.import_module(command.module)
    except ImportError as exc:
        print(f"llm-otel {args[0]}: {exc.name} is missing{f': {hint}' if hint else ''}", file=sys.stderr)
        return 1
    return int(getattr(module, command.function)(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
