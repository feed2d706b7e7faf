"""``llm-otel events``: the gen_ai events (evaluations, feedback, content details) of the local stack.

The stack has no log backend; the Collector's logs pipeline writes every event it receives as
OTLP JSON lines (``file/events`` in ``otel-collector-config.yaml``, file
``<state dir>/collector/events.jsonl``). This reads them back:

    llm-otel events [--name gen_ai.evaluation.result] [--trace TRACE_ID] [--last 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llm_otel import _semconv as sc

from llm_otel_tools.readside._otlp import attributes

__all__ = ["Event", "main", "read_events"]

Event = dict[str, Any]
"""``{"name", "time_unix_nano", "trace_id", "span_id", "service", "attributes"}``."""


def read_events(path: str | Path) -> Iterator[Event]:
    """Every log record in an OTLP-JSON-lines file, oldest first (a torn last line is skipped)."""
    path = Path(path)
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                batch = json.loads(line)
            except ValueError:
                continue  # the Collector may be mid-write
            for resource_logs in batch.get("resourceLogs", []):
                service = attributes(resource_logs.get("resource", {}).get("attributes", [])).get("service.name")
                for scope_logs in resource_logs.get("scopeLogs", []):
                    for record in scope_logs.get("logRecords", []):
                        yield {
                            "name": record.get("eventName"),
                            "time_unix_nano": int(record.get("timeUnixNano") or record.get("observedTimeUnixNano") or 0),
                            "trace_id": record.get("traceId", ""),
                            "span_id": record.get("spanId", ""),
                            "service": service,
                            "attributes": attributes(record.get("attributes", [])),
                        }


def _default_path() -> Path:
    from llm_otel_tools.stack import Stack

    return Stack().events_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm-otel events", description=__doc__.splitlines()[0])
    parser.add_argument("--name", help="event name, e.g. gen_ai.evaluation.result")
    parser.add_argument("--trace", help="only events of this trace id")
    parser.add_argument("--last", type=int, default=20, help="newest N events (default 20)")
    parser.add_argument("--file", help="events file (default: the local stack's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    path = Path(args.file) if args.file else _default_path()
    if not path.exists():
        print(f"llm-otel events: no events file at {path} (is the stack up? llm-otel stack up)", file=sys.stderr)
        return 1
    trace = args.trace.lower() if args.trace else None
    events = [e for e in read_events(path)
              if (args.name is None or e["name"] == args.name) and (trace is None or e["trace_id"] == trace)]
    events = events[-args.last:] if args.last > 0 else events
    if args.json:
        print(json.dumps(events, indent=2))
        return 0
    for e in events:
        attrs = e["attributes"]
        what = attrs.get(sc.GEN_AI_EVALUATION_NAME)
        detail = " ".join(f"{k.rsplit('.', 1)[-1]}={attrs[k]}" for k in
                          (sc.GEN_AI_EVALUATION_SCORE_LABEL, sc.GEN_AI_EVALUATION_SCORE_VALUE, sc.GEN_AI_REQUEST_MODEL)
                          if k in attrs)
        print(f"{e['trace_id'] or '-':32}  {e['span_id'] or '-':16}  {e['name']}"
              f"{f' [{what}]' if what else ''}  {detail}")
    return 0
