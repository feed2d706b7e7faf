"""`llm-otel stack up|down|status [--json] [--docker] [--state-dir DIR]`."""

from __future__ import annotations

import argparse
import json
import sys

from llm_otel_tools.stack._stack import DEFAULT_PORTS, Stack, StackError, find_repo_root

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-otel stack",
        description="Run the Collector, Jaeger, Prometheus and Alertmanager locally (no Docker) or with --docker.",
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--docker", action="store_true", help="use docker compose instead of local processes")
    parser.add_argument("--state-dir", help="where configs, data, logs and pids go (default: <repo>/.state/stack)")
    parser.add_argument("--free-ports", action="store_true", help="pick free ports instead of the default plan")
    parser.add_argument("--port", action="append", default=[], metavar="NAME=PORT", help=f"fix a port; names: {', '.join(DEFAULT_PORTS)}")
    parser.add_argument("--fast", action="store_true", help="test variant: 1s scrape/evaluation, alerts without for:")
    parser.add_argument("--badger", action="store_true", help="Jaeger with Badger on disk instead of memory")
    parser.add_argument("--webhook-url", help="Alertmanager default webhook URL (else $LLM_OTEL_ALERT_WEBHOOK_URL)")
    parser.add_argument("--gateways", type=int, default=0, metavar="N",
                        help="also run the two-tier pipeline: N gateway Collectors (tail sampling) behind the agents")
    parser.add_argument("--kafka", action="store_true",
                        help="with --gateways: a local Kafka broker between the tiers (one partition per gateway)")
    parser.add_argument("--agents", type=int, default=2, metavar="M", help="agent Collectors with --gateways (default 2)")
    parser.add_argument("--install-missing", action="store_true", help="apt-get install prometheus/alertmanager if missing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.docker:
            from llm_otel_tools.stack._docker import compose

            if args.action == "down":
                Stack(args.state_dir).down()  # apps started next to the compose stack (llm-otel demo)
            return compose(find_repo_root(), args.action)
        stack = Stack(args.state_dir)
        if args.action == "up":
            ports = {}
            for item in args.port:
                name, _, value = item.partition("=")
                ports[name] = int(value)
            if args.gateways:
                return _up_two_tier(stack, args, ports)
            stack.up(
                ports,
                free_ports=args.free_ports,
                fast=args.fast,
                webhook_url=args.webhook_url,
                badger=args.badger,
                install_missing=args.install_missing,
            )
            code = _print_status(stack, args.json)
            if not args.json:
                _print_example_trace(stack)
            return code
        if args.action == "down":
            stopped = stack.down()
            if args.json:
                print(json.dumps({"stopped": stopped}))
            else:
                print(f"stopped: {', '.join(stopped) if stopped else 'nothing (no process of ours was running)'}")
            return 0
        return _print_status(stack, args.json)
    except StackError as exc:
        print(f"llm-otel stack: error: {exc}", file=sys.stderr)
        return 2


def _up_two_tier(stack: Stack, args: argparse.Namespace, ports: dict[str, int]) -> int:
    from llm_otel_tools.stack._topology import TwoTier

    tiers = TwoTier(stack)
    tiers.up(args.gateways, args.agents, ports=ports, free_ports=args.free_ports, fast=args.fast,
             webhook_url=args.webhook_url, badger=args.badger, install_missing=args.install_missing, kafka=args.kafka)
    code = _print_status(stack, args.json)
    if args.json:
        print(json.dumps({"tiers": tiers.describe()}, indent=2))
    else:
        for name, where in tiers.describe().items():
            print(f"{name:13} " + " ".join(f"{k}={v}" for k, v in where.items()))
        print(f"{'send OTLP to':13} the agents' otlp_grpc / otlp_http (every trace reaches one gateway by trace id)")
    return code


def _print_status(stack: Stack, as_json: bool) -> int:
    status = stack.status()
    if as_json:
        print(json.dumps(status, indent=2))
    elif not status["processes"]:
        print(f"not running (state dir {status['state_dir']})")
    else:
        for key in ("otlp_grpc", "otlp_http", "jaeger_query", "jaeger_ui", "prometheus", "alertmanager"):
            print(f"{key:13} {status[key]}")
        if status.get("jaeger_ui_note"):
            print(f"{'':13} (no UI build: {status['jaeger_ui_note']})")
        for name, proc in status["processes"].items():
            print(f"{name:13} pid={proc['pid']} {'healthy' if proc['healthy'] else 'NOT HEALTHY'}")
        print(f"{'state dir':13} {status['state_dir']} (logs in logs/)")
    return 0 if status.get("running") else 1


def _print_example_trace(stack: Stack) -> None:
    """A Jaeger UI link to the newest trace of the first service Jaeger knows, or how to get one."""
    from llm_otel_tools.readside._http import BackendError, get_json
    from llm_otel_tools.readside.traces import search_traces

    endpoints = stack.endpoints()
    try:
        services = [s for s in get_json(endpoints.jaeger_query, "/api/v3/services", backend="jaeger_query").get("services", [])
                    if s != "jaeger"]
        rows = search_traces(endpoints.jaeger_query, services[0], lookback="24h", limit=1) if services else []
    except BackendError as exc:
        print(f"{'trace':13} (Jaeger did not answer: {exc})")
        return
    if rows:
        print(f"{'trace':13} {endpoints.jaeger_trace_url(rows[0]['trace_id'])}  (newest trace of {services[0]})")
    else:
        print(f"{'trace':13} none yet: send OTLP to {endpoints.otlp_grpc}, or run `llm-otel demo` for demo traffic")
