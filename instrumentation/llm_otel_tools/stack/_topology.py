"""The two-tier pipeline on one machine: ``llm-otel stack up --gateways N [--agents M]``.

Next to the usual stack (Jaeger, Prometheus, Alertmanager and the single Collector, which stays on its ports for
apps not moved yet) this starts N gateway Collectors (``collector/gateway.yaml``: tail_sampling -> Jaeger) and M
agent Collectors (``collector/agent.yaml``: span_metrics, then the load_balancing exporter routing by trace id to
the N gateways), each on free ports, as apps of the stack (``stack down`` stops them). Prometheus gets one more
scrape job for the agents' metric endpoints and every tier Collector's own ``otelcol_*`` metrics.
``topology.json`` in the state dir lists every process's endpoints. Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llm_otel_tools.stack._stack import Stack, StackError, _cmdline, _free_port

__all__ = ["Tier", "TwoTier"]

AGENT_PORTS = ("otlp_grpc", "otlp_http", "prometheus", "metrics", "health")
GATEWAY_PORTS = ("otlp_grpc", "metrics", "health")
_ENV_FOR_PORT = {
    "otlp_grpc": "LLM_OTEL_COLLECTOR_OTLP_GRPC_PORT",
    "otlp_http": "LLM_OTEL_COLLECTOR_OTLP_HTTP_PORT",
    "prometheus": "LLM_OTEL_COLLECTOR_PROM_PORT",
    "metrics": "LLM_OTEL_COLLECTOR_METRICS_PORT",
    "health": "LLM_OTEL_COLLECTOR_HEALTH_PORT",
}


@dataclasses.dataclass(frozen=True)
class Tier:
    """One agent or gateway process: its app name, ports and the env overrides that place it."""

    name: str
    role: str
    ports: Mapping[str, int]
    env: Mapping[str, str]

    def url(self, port: str) -> str:
        return f"http://127.0.0.1:{self.ports[port]}"


class TwoTier:
    """Agents and gateways of one stack state dir.

    >>> tiers = TwoTier(Stack("/tmp/s"))
    >>> tiers.up(gateways=3, agents=2, fast=True)   # starts the stack too when it is not running
    >>> tiers.agents()[0].url("otlp_http")            # where apps send OTLP
    >>> tiers.restart("gateway-1")
    """

    def __init__(self, stack: Stack):
        self.stack = stack

    @property
    def file(self) -> Path:
        return self.stack.state_dir / "topology.json"

    def up(
        self,
        gateways: int,
        agents: int = 2,
        *,
        fast: bool = False,
        gomaxprocs: int | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 90.0,
        kafka: bool = False,
        **stack_args: Any,
    ) -> list[Tier]:
        """Start the stack (if needed), then ``gateways`` gateways and ``agents`` agents; wait until healthy.

        ``gomaxprocs`` caps each tier Collector's Go scheduler (GOMAXPROCS) so a figure is per core;
        ``env`` adds variables (sampling thresholds, queue sizes) to every tier Collector.
        """
        if gateways < 1 or agents < 1:
            raise StackError("--gateways and --agents need at least 1 each")
        self.down()
        self.stack.up(fast=fast, **stack_args)
        taken: set[int] = set()

        def ports(names: tuple[str, ...]) -> dict[str, int]:
            chosen = {n: _free_port(taken) for n in names}
            taken.update(chosen.values())
            return chosen

        extra = dict(env or {})
        if gomaxprocs:
            extra["GOMAXPROCS"] = str(gomaxprocs)
        tiers = []
        for i in range(1, gateways + 1):
            p = ports(GATEWAY_PORTS)
            queue = self.stack.state_dir / f"gateway-{i}" / "queue"
            tiers.append(Tier(f"gateway-{i}", "gateway", p, {**extra, **_port_env(p), "LLM_OTEL_COLLECTOR_STORAGE_DIR": str(queue)}))
        hostnames = ", ".join(f"127.0.0.1:{t.ports['otlp_grpc']}" for t in tiers)
        for i in range(1, agents + 1):
            p = ports(AGENT_PORTS)
            events = self.stack.state_dir / f"agent-{i}" / "events.jsonl"
            tiers.append(Tier(f"agent-{i}", "agent", p, {
                **extra, **_port_env(p), "LLM_OTEL_GATEWAY_ENDPOINTS": f"[{hostnames}]", "LLM_OTEL_EVENTS_FILE": str(events)}))
        if kafka:
            broker = Tier("kafka", "kafka", {"broker": _free_port(taken)}, {})
            taken.add(broker.ports["broker"])
            broker = Tier("kafka", "kafka", {**broker.ports, "controller": _free_port(taken)}, {})
            brokers = {"LLM_OTEL_KAFKA_BROKERS": f"127.0.0.1:{broker.ports['broker']}"}
            tiers = [broker] + [dataclasses.replace(t, env={**t.env, **brokers}) for t in tiers]
        for tier in tiers:
            (self.stack.state_dir / tier.name).mkdir(parents=True, exist_ok=True)
        self.file.write_text(json.dumps([dataclasses.asdict(t) for t in tiers], indent=2))
        if kafka:
            self._start_kafka(tiers[0], partitions=gateways, timeout=timeout)
            tiers = tiers[1:]
        for tier in tiers:
            self._start(tier, timeout)
        self._scrape(tiers)
        return tiers

    def tiers(self) -> list[Tier]:
        try:
            return [Tier(**row) for row in json.loads(self.file.read_text())]
        except (OSError, ValueError):
            return []

    def kafka(self) -> Tier | None:
        return next((t for t in self.tiers() if t.role == "kafka"), None)

    def agents(self) -> list[Tier]:
        return [t for t in self.tiers() if t.role == "agent"]

    def gateways(self) -> list[Tier]:
        return [t for t in self.tiers() if t.role == "gateway"]

    def get(self, name: str) -> Tier:
        for tier in self.tiers():
            if tier.name == name:
                return tier
        raise StackError(f"no tier process {name!r} in {self.file}")

    def stop(self, name: str) -> bool:
        """Stop one agent or gateway (SIGTERM: a graceful Collector shutdown)."""
        return self.stack.stop(self.get(name).name)

    def start(self, name: str, timeout: float = 60.0) -> None:
        self._start(self.get(name), timeout)

    def restart(self, name: str, timeout: float = 60.0) -> None:
        self.stop(name)
        self.start(name, timeout)

    def down(self) -> list[str]:
        """Stop the agents and gateways only (``Stack.down`` stops them together with the rest)."""
        stopped = [t.name for t in reversed(self.tiers()) if self.stack.stop(t.name)]
        self.file.unlink(missing_ok=True)
        return stopped

    # ------------------------------------------------------------ internals
    def _start(self, tier: Tier, timeout: float) -> None:
        state = self.stack._read_state() or {}
        collector = state.get("binaries", {}).get("collector")
        if not collector:
            raise StackError(f"no Collector binary recorded in {self.stack.endpoints_file}: run the stack up first")
        configs = [self.stack.repo / "collector" / f"{tier.role}.yaml"]
        if "LLM_OTEL_KAFKA_BROKERS" in tier.env:
            configs.append(self.stack.repo / "collector" / f"kafka-{tier.role}.yaml")
        env = self.stack._env(state["ports"], bool(state.get("fast")))
        env.update(tier.env)
        cmd = [collector, *(f"--config={c}" for c in configs)]
        self.stack.run_app(tier.name, cmd, env, tier.url("health") + "/", timeout=timeout)

    def _start_kafka(self, tier: Tier, partitions: int, timeout: float) -> None:
        """The KRaft broker of ``scale/kafka.sh`` (log dir in the state dir), then the topic: one partition per gateway."""
        script = str(self.stack.repo / "scale" / "kafka.sh")
        fetched = subprocess.run(["bash", script, "fetch"], capture_output=True, text=True, check=False)
        if fetched.returncode:
            raise StackError(f"scale/kafka.sh fetch failed: {fetched.stderr[-1000:]} (needs java >= 17 and mvn)")
        port, controller = tier.ports["broker"], tier.ports["controller"]
        cmd = ["bash", script, "start", str(self.stack.state_dir / "kafka" / "data"), str(port), str(controller)]
        pid = self.stack.run_app("kafka", cmd, dict(os.environ), f"tcp://127.0.0.1:{port}", timeout=timeout,
                                 ready=lambda: _tcp_ok(port))
        # kafka.sh execs java: record the command line the pid now runs, so `stack down` knows it for ours.
        record = json.loads(self.stack._pid_file("kafka").read_text())
        self.stack._pid_file("kafka").write_text(json.dumps({**record, "cmdline": _cmdline(pid)}))
        topic = os.environ.get("LLM_OTEL_KAFKA_TOPIC", "llm-otel-spans")
        made = subprocess.run(["bash", script, "topic", str(port), topic, str(partitions)],
                              capture_output=True, text=True, check=False, timeout=timeout)
        if made.returncode:
            raise StackError(f"creating Kafka topic {topic} failed: {made.stderr[-1000:]}")

    def _scrape(self, tiers: list[Tier]) -> None:
        """Add a scrape job for the tier Collectors to the rendered prometheus.yml and reload Prometheus."""
        path = self.stack.state_dir / "prometheus" / "prometheus.yml"
        text = path.read_text()
        marker = "\n  # Two-tier Collectors (llm-otel stack up --gateways N)"
        text = text.split(marker)[0].rstrip("\n") + "\n"
        targets = [f'"127.0.0.1:{t.ports[p]}"' for t in tiers for p in ("prometheus", "metrics") if p in t.ports]
        text += (f"{marker}: application metrics of the agents, otelcol_* of every tier Collector.\n"
                 f"  - job_name: llm-otel-tiers\n    honor_labels: true\n    static_configs:\n"
                 f"      - targets: [{', '.join(targets)}]\n")
        path.write_text(text)
        self.stack.reload_prometheus()

    def describe(self) -> dict[str, Any]:
        return {t.name: {k: f"127.0.0.1:{v}" for k, v in t.ports.items()} for t in self.tiers()}


def _tcp_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _port_env(ports: Mapping[str, int]) -> dict[str, str]:
    return {_ENV_FOR_PORT[name]: str(port) for name, port in ports.items()}

