"""Real processes for the scale tests: a Kafka broker, Jaeger and Collectors on free loopback ports.

Each base Collector config (collector/agent.yaml, collector/gateway.yaml, or the stand-ins in fixtures/ while
those do not exist) is run with the overlays under test plus one generated *isolation overlay* that moves every
listener to a free port and every directory into the test's tmp dir, found from the config's structure rather
than its env variable names, so these tests run beside any other stack on the machine.
A missing component fails the test with the command that gets it; nothing here skips.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import jaeger_trace_spans, poll

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
COMPONENTS_HINT = "run `make components` (or `bash scale/kafka.sh fetch`, `bash collector/build.sh`, `bash jaeger/build.sh`)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_config(role: str) -> Path:
    """collector/<role>.yaml when the two-tier configs are in the tree, else the marked stand-in."""
    real = REPO / "collector" / f"{role}.yaml"
    return real if real.exists() else FIXTURES / f"{role}.yaml"


def built_binary(script: str) -> str:
    """The path a build script prints (cached builds return at once); fails with how to get it."""
    proc = subprocess.run(["bash", str(REPO / script)], capture_output=True, text=True, check=False)
    path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not os.access(path, os.X_OK):
        pytest.fail(f"{script} failed ({proc.returncode}): {proc.stderr[-1500:]}\n{COMPONENTS_HINT}", pytrace=False)
    return path


class Proc:
    """One child process with its log file; stopped by its own pid."""

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None):
        self.name, self.log, self._args = name, log, (cmd, env, cwd)
        self.start()

    def start(self) -> None:
        """(Re)starts the process, appending to its log."""
        cmd, env, cwd = self._args
        self._log_fh = self.log.open("ab")
        self.popen = subprocess.Popen(cmd, stdout=self._log_fh, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                      start_new_session=True)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_until(self, check: Callable[[], Any], what: str, timeout: float = 60.0) -> None:
        def ready() -> Any:
            if self.popen.poll() is not None:
                pytest.fail(f"{self.name} exited ({self.popen.returncode}) before {what}:\n{self.tail()}", pytrace=False)
            return check()
        poll(ready, timeout=timeout, what=f"{self.name}: {what}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log_fh.close()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return 200 <= resp.status < 300
    except OSError:
        return False


def metric_sum(port: int, name: str, **labels: str) -> float:
    """Sum of a Collector self-metric (Prometheus text, `name` with or without `_total`) over matching series."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        series = line.split("{", 1)[0].split(" ", 1)[0]
        if series in (name, f"{name}_total") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# ----------------------------------------------------------------------------------------------- Kafka
def start_kafka(workdir: Path) -> tuple[Proc, int]:
    """A KRaft broker from scale/kafka.sh (jars cached by `make components`); returns it and its port."""
    fetch = subprocess.run(["bash", str(REPO / "scale" / "kafka.sh"), "fetch"], capture_output=True, text=True, check=False)
    if fetch.returncode != 0:
        pytest.fail(f"scale/kafka.sh fetch failed ({fetch.returncode}): {fetch.stderr[-1500:]}\n{COMPONENTS_HINT}",
                    pytrace=False)
    port, controller = free_port(), free_port()
    broker = Proc("kafka", ["bash", str(REPO / "scale" / "kafka.sh"), "start", str(workdir), str(port), str(controller)],
                  workdir.with_suffix(".log"))
    broker.wait_until(lambda: "Kafka Server started" in broker.log.read_text(errors="replace"),
                      "the broker is started", timeout=120)
    return broker, port


def create_topic(port: int, topic: str, partitions: int) -> None:
    proc = subprocess.run(["bash", str(REPO / "scale" / "kafka.sh"), "topic", str(port), topic, str(partitions)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, f"creating topic {topic} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"


# ---------------------------------------------------------------------------------------------- Jaeger
def start_jaeger(workdir: Path) -> tuple[Proc, dict[str, int]]:
    """Jaeger v2 with the repo's in-memory config on free ports; returns it, its OTLP gRPC and query ports."""
    binary = built_binary("jaeger/build.sh")
    ports = {name: free_port() for name in ("OTLP_GRPC", "OTLP_HTTP", "QUERY_HTTP", "QUERY_GRPC", "HEALTH", "METRICS")}
    env = {**os.environ, "LLM_OTEL_LISTEN_HOST": "127.0.0.1", "GOMEMLIMIT": "300MiB",
           **{f"LLM_OTEL_JAEGER_{k}_PORT": str(v) for k, v in ports.items()}}
    jaeger = Proc("jaeger", [binary, f"--config={REPO / 'jaeger' / 'config.yaml'}"], workdir / "jaeger.log", env, workdir)
    jaeger.wait_until(lambda: http_ok(f"http://127.0.0.1:{ports['HEALTH']}/status"), "healthy")
    return jaeger, ports


def jaeger_trace(query_port: int, trace_id: str) -> list[dict[str, Any]]:
    """Spans of one trace from the Jaeger on `query_port`, each with its attributes flattened; [] if absent."""
    return jaeger_trace_spans(f"http://127.0.0.1:{query_port}", trace_id)


# ------------------------------------------------------------------------------------------- Collectors
def _listen(port: int) -> str:
    return f"127.0.0.1:{port}"


def isolation_overlay(base: dict[str, Any], workdir: Path, metrics_port: int) -> dict[str, Any]:
    """An overlay that moves every listener of `base` to a free port and every directory/file into `workdir`."""
    overlay: dict[str, Any] = {}
    for name, cfg in (base.get("receivers") or {}).items():
        cfg = cfg or {}
        if "protocols" in cfg:
            protocols = {proto: {"endpoint": _listen(free_port())} for proto in (cfg["protocols"] or {})}
            overlay.setdefault("receivers", {})[name] = {"protocols": protocols}
        elif "endpoint" in cfg:
            overlay.setdefault("receivers", {})[name] = {"endpoint": _listen(free_port())}
    for name, cfg in (base.get("exporters") or {}).items():
        kind = name.split("/", 1)[0]
        if kind == "prometheus":
            overlay.setdefault("exporters", {})[name] = {"endpoint": _listen(free_port())}
        elif kind == "file":
            overlay.setdefault("exporters", {})[name] = {"path": str(workdir / f"{name.replace('/', '_')}.jsonl")}
    for name, cfg in (base.get("extensions") or {}).items():
        cfg, moved = cfg or {}, {}
        if "endpoint" in cfg:
            moved["endpoint"] = _listen(free_port())
        for proto in ("http", "grpc"):
            if isinstance(cfg.get(proto), dict) and "endpoint" in cfg[proto]:
                moved[proto] = {"endpoint": _listen(free_port())}
        if "directory" in cfg:
            directory = workdir / name.replace("/", "_")
            directory.mkdir(parents=True, exist_ok=True)
            moved["directory"] = str(directory)
            if isinstance(cfg.get("compaction"), dict):
                moved["compaction"] = {"directory": str(directory)}
        if moved:
            overlay.setdefault("extensions", {})[name] = moved
    reader = {"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}
    overlay["service"] = {"telemetry": {"metrics": {"level": "normal", "readers": [reader]}}}
    return overlay


def merge(into: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of maps (as the Collector merges --config files; lists replace)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


class Collector(Proc):
    """otelcol-llm run as `--config base --config <overlays...> --config <isolation overlay>`."""

    def __init__(self, name: str, base: Path, overlays: list[Path], workdir: Path, env: dict[str, str],
                 extra: dict[str, Any] | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.base = yaml.safe_load(base.read_text())
        self.metrics_port = free_port()
        generated = merge(isolation_overlay(self.base, workdir, self.metrics_port), extra or {})
        self.otlp_grpc: str = generated.get("receivers", {}).get("otlp", {}).get("protocols", {}).get("grpc", {}).get("endpoint", "")
        isolation = workdir / "isolation.yaml"
        isolation.write_text(yaml.safe_dump(generated, sort_keys=False))
        configs = [f"--config={p}" for p in (base, *overlays, isolation)]
        super().__init__(name, [built_binary("collector/build.sh"), *configs], workdir / "collector.log",
                         {**os.environ, "GOMEMLIMIT": "200MiB", **env}, workdir)

    def start(self) -> None:
        super().start()
        self.wait_until(lambda: http_ok(f"http://127.0.0.1:{self.metrics_port}/metrics"), "serving its metrics")
