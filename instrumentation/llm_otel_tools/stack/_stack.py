"""Run the real Collector, Jaeger, Prometheus and Alertmanager as local processes (no Docker).

One state directory holds everything a run creates: rendered configs, data, logs, pid files and
``endpoints.json``. ``down`` stops only the processes whose pid file it wrote and whose command line
still matches. Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["Endpoints", "Stack", "StackError", "default_state_dir", "find_repo_root"]

PROCESS_NAMES = ("jaeger", "alertmanager", "collector", "prometheus")

# The port plan of PIPELINE.md; `up()` uses it when a port is free and a free port otherwise.
DEFAULT_PORTS: dict[str, int] = {
    "collector_otlp_grpc": 4317,
    "collector_otlp_http": 4318,
    "collector_prometheus": 8889,
    "collector_metrics": 8888,
    "collector_health": 13133,
    "collector_zpages": 55679,
    "collector_pprof": 1777,
    "jaeger_otlp_grpc": 14317,
    "jaeger_otlp_http": 14318,
    "jaeger_query_http": 16686,
    "jaeger_query_grpc": 16685,
    "jaeger_health": 13134,
    "jaeger_metrics": 8887,
    "prometheus": 9090,
    "alertmanager": 9093,
}

APT_HINT = "apt-get install prometheus prometheus-alertmanager"
GO_HINT = (
    "Go >= 1.25 is needed to build the Collector and Jaeger: install it from https://go.dev/dl/ "
    "(tar -C /usr/local -xzf go1.26.*.linux-amd64.tar.gz; export PATH=$PATH:/usr/local/go/bin), "
    "or run the Docker stack: llm-otel stack up --docker"
)
UI_HINT = (
    "the Jaeger UI is built from source by jaeger/build-ui.sh (needs npm and a download of the jaeger-ui "
    "source, or JAEGER_UI_ARCHIVE=<local .tar.gz>); meanwhile Jaeger serves its API and a placeholder page"
)

# Placeholders in alertmanager/alertmanager.yml (see its header) and the variables that fill them.
ALERTMANAGER_PLACEHOLDERS = {
    "http://127.0.0.1:5001/llm-otel/alerts": "LLM_OTEL_ALERT_WEBHOOK_URL",
    "https://hooks.slack.com/services/LLM_OTEL_SLACK_WEBHOOK_URL": "LLM_OTEL_SLACK_WEBHOOK_URL",
    "LLM_OTEL_PAGERDUTY_ROUTING_KEY": "LLM_OTEL_PAGERDUTY_ROUTING_KEY",
}


# Never written to endpoints.json (which records the run's other LLM_OTEL_* settings).
SECRET_ENV = frozenset({"LLM_OTEL_OTLP_TOKEN", "LLM_OTEL_SLACK_WEBHOOK_URL", "LLM_OTEL_PAGERDUTY_ROUTING_KEY"})


class StackError(RuntimeError):
    """A component is missing, failed to build, or did not become healthy."""


@dataclasses.dataclass(frozen=True)
class Endpoints:
    """Where the running stack listens. URLs are ``http://127.0.0.1:<port>`` bases.

    ``otlp_http`` is the base URL: the HTTP exporters need ``/v1/traces`` and ``/v1/metrics``
    appended when given an explicit endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` takes the base).
    """

    otlp_grpc: str
    otlp_http: str
    jaeger_query: str
    prometheus: str
    alertmanager: str
    collector_health: str
    collector_metrics: str
    collector_prometheus: str
    ports: Mapping[str, int]

    @classmethod
    def from_ports(cls, ports: Mapping[str, int]) -> Endpoints:
        def url(key: str) -> str:
            return f"http://127.0.0.1:{ports[key]}"

        return cls(
            otlp_grpc=url("collector_otlp_grpc"),
            otlp_http=url("collector_otlp_http"),
            jaeger_query=url("jaeger_query_http"),
            prometheus=url("prometheus"),
            alertmanager=url("alertmanager"),
            collector_health=url("collector_health"),
            collector_metrics=url("collector_metrics"),
            collector_prometheus=url("collector_prometheus"),
            ports=dict(ports),
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def jaeger_trace_url(self, trace_id: str) -> str:
        """The Jaeger UI page of one trace."""
        return f"{self.jaeger_query}/trace/{trace_id}"

    def jaeger_search_url(self, service: str | None = None) -> str:
        """The Jaeger UI search page, for one service when given."""
        query = f"?{urllib.parse.urlencode({'service': service})}" if service else ""
        return f"{self.jaeger_query}/search{query}"


SHARED_DATA = Path(sys.prefix) / "share" / "llm-otel"
"""Where a wheel install puts the pipeline configs (pyproject.toml ``[tool.setuptools.data-files]``)."""


def _is_pipeline_root(path: Path) -> bool:
    return (path / "otel-collector-config.yaml").is_file() and (path / "collector" / "manifest.yaml").is_file()


def find_repo_root() -> Path:
    """The folder holding the pipeline configs: $LLM_OTEL_REPO_ROOT, else the checkout this package
    runs from (an editable install), else the copy a wheel installs under ``<prefix>/share/llm-otel``."""
    env = os.environ.get("LLM_OTEL_REPO_ROOT")
    candidates = [Path(env)] if env else [*Path(__file__).resolve().parents, SHARED_DATA]
    for path in candidates:
        if _is_pipeline_root(path):
            return path
    where = f"LLM_OTEL_REPO_ROOT={env}" if env else f"a checkout above {Path(__file__).resolve()} or {SHARED_DATA}"
    raise StackError(
        f"cannot find the pipeline configs (otel-collector-config.yaml, collector/manifest.yaml) in {where}; "
        "reinstall llm-otel (pip install llm-otel ships them), install it editable from a checkout "
        "(pip install -e .), or set LLM_OTEL_REPO_ROOT to a checkout"
    )


def default_state_dir(repo: Path | None = None) -> Path:
    """$LLM_OTEL_STACK_STATE_DIR, else ``<checkout>/.state/stack``, else (installed configs are not
    ours to write into) ``$XDG_STATE_HOME/llm-otel/stack``."""
    env = os.environ.get("LLM_OTEL_STACK_STATE_DIR")
    if env:
        return Path(env)
    root = repo or find_repo_root()
    if root.resolve() == SHARED_DATA.resolve():
        state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(state_home) / "llm-otel" / "stack"
    return root / ".state" / "stack"


def cache_dir() -> Path:
    env = os.environ.get("LLM_OTEL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "llm-otel"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in taken:
            return port


def choose_ports(requested: Mapping[str, int] | None = None, free: bool = False) -> dict[str, int]:
    """Ports for every listener: requested ones, else the default plan when free (unless `free`), else free."""
    requested = dict(requested or {})
    unknown = set(requested) - set(DEFAULT_PORTS)
    if unknown:
        raise StackError(f"unknown port names {sorted(unknown)}; known: {sorted(DEFAULT_PORTS)}")
    ports: dict[str, int] = {}
    taken = set(requested.values())
    for name, default in DEFAULT_PORTS.items():
        if name in requested:
            ports[name] = requested[name]
        elif not free and default not in taken and _port_free(default):
            ports[name] = default
        else:
            ports[name] = _free_port(taken)
        taken.add(ports[name])
    return ports


DOOR_ENV = ("LLM_OTEL_OTLP_AUTH", "LLM_OTEL_OTLP_TOKEN", "LLM_OTEL_OTLP_TOKEN_FILE", "LLM_OTEL_OTLP_TLS",
            "LLM_OTEL_OTLP_TLS_CERT", "LLM_OTEL_OTLP_TLS_KEY", "LLM_OTEL_OTLP_TLS_CLIENT_CA")


def set_door_switches(env: dict[str, str]) -> None:
    """The Collector's receiver auth / TLS switches (otel-collector-config.yaml header), in place: empty door
    variables are dropped (the Collector only applies its defaults to unset ones), a token or token file
    switches bearer-token auth on and a certificate TLS, unless LLM_OTEL_OTLP_AUTH / _TLS say otherwise."""
    for name in DOOR_ENV:
        if env.get(name) == "":
            del env[name]
    if "LLM_OTEL_OTLP_AUTH" not in env and ("LLM_OTEL_OTLP_TOKEN" in env or "LLM_OTEL_OTLP_TOKEN_FILE" in env):
        env["LLM_OTEL_OTLP_AUTH"] = "true"
    if "LLM_OTEL_OTLP_TLS" not in env and "LLM_OTEL_OTLP_TLS_CERT" in env:
        env["LLM_OTEL_OTLP_TLS"] = "true"


def _http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


_EXEC_GRACE_S = 10.0


def _runs(record: dict[str, Any], cmdline: list[str] | None) -> bool:
    """Whether a live process with this command line is the one a pid file ``record`` started.

    An empty command line is a program between exec and setting up its arguments: for a moment after
    Popen returns, /proc/<pid>/cmdline reads empty (measured here: up to a third of spawns of a small
    binary on a busy machine). That is ours only within ``_EXEC_GRACE_S`` of the start we recorded.
    """
    if cmdline == []:
        return time.time() - float(record.get("started", 0.0)) < _EXEC_GRACE_S
    return cmdline is not None and cmdline == record.get("cmdline")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Stack:
    """The local pipeline: Collector, Jaeger, Prometheus and Alertmanager under one state dir.

    >>> stack = Stack("/tmp/llm-otel-stack")
    >>> endpoints = stack.up(free_ports=True)          # builds what is missing, waits until healthy
    >>> stack.status()["processes"]["collector"]["healthy"]
    True
    >>> stack.down()
    """

    def __init__(self, state_dir: str | os.PathLike[str] | None = None, repo_root: str | os.PathLike[str] | None = None):
        self.repo = Path(repo_root) if repo_root else find_repo_root()
        self.state_dir = Path(state_dir) if state_dir else default_state_dir(self.repo)
        self.state_dir = self.state_dir.resolve()

    # ----------------------------------------------------------------- paths
    @property
    def endpoints_file(self) -> Path:
        return self.state_dir / "endpoints.json"

    @property
    def events_file(self) -> Path:
        """gen_ai events (log records) the collector writes as OTLP JSON lines."""
        return self.state_dir / "collector" / "events.jsonl"

    def log_file(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def _pid_file(self, name: str) -> Path:
        return self.state_dir / "pids" / f"{name}.pid"

    # ----------------------------------------------------------- binaries
    def _build(self, script: str, env_var: str) -> str:
        override = os.environ.get(env_var)
        if override:
            if not os.access(override, os.X_OK):
                raise StackError(f"{env_var}={override} is not an executable file")
            return override
        if shutil.which("go") is None and not self._cached_binary(script):
            raise StackError(f"{script} needs Go, which is not on PATH. {GO_HINT}")
        proc = subprocess.run(
            ["bash", str(self.repo / script)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            hint = GO_HINT if proc.returncode == 127 else "see the output above"
            raise StackError(f"{script} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}\n{hint}")
        path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if not path or not os.access(path, os.X_OK):
            raise StackError(f"{script} did not print an executable path (got {path!r})")
        return path

    def _cached_binary(self, script: str) -> bool:
        if script.startswith("collector"):  # one binary per manifest hash: otelcol-llm/<hash>/otelcol-llm
            return any(os.access(p, os.X_OK) for p in cache_dir().glob("otelcol-llm/*/otelcol-llm"))
        return os.access(cache_dir() / "jaeger" / "jaeger", os.X_OK)

    def binaries(self, install_missing: bool = False) -> dict[str, str]:
        """Paths of the four binaries; builds the Go ones and (only when asked) apt-installs the others."""
        prom = shutil.which("prometheus")
        am = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if (prom is None or am is None) and (install_missing or os.environ.get("LLM_OTEL_STACK_APT_INSTALL") == "1"):
            subprocess.run(["apt-get", "install", "-y", "prometheus", "prometheus-alertmanager"], check=False)
            prom = shutil.which("prometheus")
            am = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        missing = [n for n, p in (("prometheus", prom), ("prometheus-alertmanager", am)) if p is None]
        if missing:
            raise StackError(
                f"{' and '.join(missing)} not found on PATH. Install with: {APT_HINT} "
                "(or pass --install-missing / set LLM_OTEL_STACK_APT_INSTALL=1 to let the runner do it)"
            )
        return {
            "jaeger": self._build("jaeger/build.sh", "LLM_OTEL_JAEGER_BIN"),
            "collector": self._build("collector/build.sh", "LLM_OTEL_COLLECTOR_BIN"),
            "prometheus": prom,  # type: ignore[dict-item]
            "alertmanager": am,  # type: ignore[dict-item]
        }

    def jaeger_ui(self) -> dict[str, str | None]:
        """The Jaeger UI build to serve: ``{"assets": <dir with index.html> or None, "note": why not}``.

        $LLM_OTEL_JAEGER_UI_ASSETS names a build directly; else jaeger/build-ui.sh builds (once per pin) or
        finds the cached build. A UI that cannot be had never stops the stack: Jaeger then serves the API.
        """
        override = os.environ.get("LLM_OTEL_JAEGER_UI_ASSETS")
        if override:
            if not (Path(override) / "index.html").is_file():
                raise StackError(f"LLM_OTEL_JAEGER_UI_ASSETS={override} has no index.html (a jaeger-ui build directory)")
            return {"assets": override, "note": None}
        proc = subprocess.run(["bash", str(self.repo / "jaeger" / "build-ui.sh")], capture_output=True, text=True, check=False)
        path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if proc.returncode == 0 and (Path(path) / "index.html").is_file():
            return {"assets": path, "note": None}
        last = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {"assets": None, "note": f"jaeger/build-ui.sh failed ({last[0]}); {UI_HINT}"}

    # ---------------------------------------------------------- rendering
    def _render(self, ports: Mapping[str, int], fast: bool, webhook_url: str | None) -> None:
        """Render prometheus.yml, the rules and alertmanager.yml with this run's ports into the state dir."""
        prom_dir = self.state_dir / "prometheus"
        rules_dir = prom_dir / "rules"
        rules_dir.mkdir(parents=True, exist_ok=True)
        for old in rules_dir.glob("*.yml"):
            old.unlink()
        budget = os.environ.get("LLM_OTEL_COST_BUDGET_USD_PER_HOUR")
        for src in sorted((self.repo / "prometheus" / "rules").glob("*.yml")):
            text = src.read_text()
            if budget:
                text = re.sub(r"(record: llm_otel:cost_budget_usd:1h\n\s+expr: )vector\([^)]*\)", rf"\g<1>vector({float(budget)})", text)
            if fast:
                # Test variant: alerts fire on the first evaluation, groups use the global 1s interval.
                text = re.sub(r"(?m)^(\s+)for: \S+$", r"\1for: 0s", text)
                text = re.sub(r"(?m)^\s+interval: \S+\n", "", text)
            (rules_dir / src.name).write_text(text)

        text = (self.repo / "prometheus" / "prometheus.yml").read_text()
        targets = {
            "otel-collector:8889": f"127.0.0.1:{ports['collector_prometheus']}",
            "otel-collector:8888": f"127.0.0.1:{ports['collector_metrics']}",
            "jaeger:8887": f"127.0.0.1:{ports['jaeger_metrics']}",
            "alertmanager:9093": f"127.0.0.1:{ports['alertmanager']}",
            "localhost:9090": f"127.0.0.1:{ports['prometheus']}",
        }
        for old, new in targets.items():
            text = text.replace(f'"{old}"', f'"{new}"')
        text = text.replace("  - rules/*.yml", f"  - {rules_dir}/*.yml")
        if fast:
            text = re.sub(r"(?m)^(\s+)(scrape_interval|evaluation_interval): \S+$", r"\1\2: 1s", text)
        (prom_dir / "prometheus.yml").write_text(text)

        am_dir = self.state_dir / "alertmanager"
        am_dir.mkdir(parents=True, exist_ok=True)
        text = (self.repo / "alertmanager" / "alertmanager.yml").read_text()
        for placeholder, var in ALERTMANAGER_PLACEHOLDERS.items():
            value = webhook_url if (var == "LLM_OTEL_ALERT_WEBHOOK_URL" and webhook_url) else os.environ.get(var)
            if value:
                text = text.replace(placeholder, value)
        if fast:
            text = re.sub(r"(?m)^(\s+)group_wait: \S+$", r"\1group_wait: 1s", text)
            text = re.sub(r"(?m)^(\s+)group_interval: \S+$", r"\1group_interval: 1s", text)
        path = am_dir / "alertmanager.yml"
        path.write_text(text)
        path.chmod(0o600)  # may hold a Slack URL or a PagerDuty key

    def _env(self, ports: Mapping[str, int], fast: bool, ui_assets: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "LLM_OTEL_LISTEN_HOST": "127.0.0.1",
                "LLM_OTEL_COLLECTOR_OTLP_GRPC_PORT": str(ports["collector_otlp_grpc"]),
                "LLM_OTEL_COLLECTOR_OTLP_HTTP_PORT": str(ports["collector_otlp_http"]),
                "LLM_OTEL_COLLECTOR_PROM_PORT": str(ports["collector_prometheus"]),
                "LLM_OTEL_COLLECTOR_METRICS_PORT": str(ports["collector_metrics"]),
                "LLM_OTEL_COLLECTOR_HEALTH_PORT": str(ports["collector_health"]),
                "LLM_OTEL_COLLECTOR_ZPAGES_PORT": str(ports["collector_zpages"]),
                "LLM_OTEL_COLLECTOR_PPROF_PORT": str(ports["collector_pprof"]),
                "LLM_OTEL_COLLECTOR_STORAGE_DIR": str(self.state_dir / "collector" / "queue"),
                "LLM_OTEL_EVENTS_FILE": str(self.events_file),
                "LLM_OTEL_JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{ports['jaeger_otlp_grpc']}",
                "LLM_OTEL_JAEGER_OTLP_GRPC_PORT": str(ports["jaeger_otlp_grpc"]),
                "LLM_OTEL_JAEGER_OTLP_HTTP_PORT": str(ports["jaeger_otlp_http"]),
                "LLM_OTEL_JAEGER_QUERY_HTTP_PORT": str(ports["jaeger_query_http"]),
                "LLM_OTEL_JAEGER_QUERY_GRPC_PORT": str(ports["jaeger_query_grpc"]),
                "LLM_OTEL_JAEGER_HEALTH_PORT": str(ports["jaeger_health"]),
                "LLM_OTEL_JAEGER_METRICS_PORT": str(ports["jaeger_metrics"]),
                "LLM_OTEL_JAEGER_BADGER_DIR": str(self.state_dir / "jaeger" / "badger"),
                "LLM_OTEL_JAEGER_UI_ASSETS": ui_assets or "",
                "GOMEMLIMIT": env.get("GOMEMLIMIT", "400MiB"),
            }
        )
        set_door_switches(env)
        if fast:
            env.update(
                {
                    "LLM_OTEL_SAMPLING_DECISION_WAIT": "1s",
                    "LLM_OTEL_SPANMETRICS_FLUSH_INTERVAL": "1s",
                    "LLM_OTEL_BATCH_TIMEOUT": "200ms",
                    "LLM_OTEL_RETRY_MAX_INTERVAL": "2s",
                    "LLM_OTEL_HOSTMETRICS_INTERVAL": "2s",
                }
            )
        return env

    def _commands(self, bins: Mapping[str, str], ports: Mapping[str, int], badger: bool) -> dict[str, list[str]]:
        jaeger_cfg = self.repo / "jaeger" / ("config-badger.yaml" if badger else "config.yaml")
        return {
            "jaeger": [bins["jaeger"], f"--config={jaeger_cfg}"],
            "collector": [bins["collector"], f"--config={self.repo / 'otel-collector-config.yaml'}"],
            "alertmanager": [
                bins["alertmanager"],
                f"--config.file={self.state_dir / 'alertmanager' / 'alertmanager.yml'}",
                f"--storage.path={self.state_dir / 'alertmanager' / 'data'}",
                f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                "--cluster.listen-address=",
            ],
            "prometheus": [
                bins["prometheus"],
                f"--config.file={self.state_dir / 'prometheus' / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.state_dir / 'prometheus' / 'data'}",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                "--enable-feature=exemplar-storage",
                # No --web.enable-lifecycle: its POST /-/quit and /-/reload need no authentication.
                # Reload a changed config with SIGHUP (kill -HUP <pid from pids/prometheus.pid>).
            ],
        }

    def _health_urls(self, ports: Mapping[str, int]) -> dict[str, str]:
        return {
            "jaeger": f"http://127.0.0.1:{ports['jaeger_health']}/status",
            "collector": f"http://127.0.0.1:{ports['collector_health']}/",
            "alertmanager": f"http://127.0.0.1:{ports['alertmanager']}/-/ready",
            "prometheus": f"http://127.0.0.1:{ports['prometheus']}/-/ready",
        }

    # ----------------------------------------------------------- lifecycle
    def up(
        self,
        ports: Mapping[str, int] | None = None,
        *,
        free_ports: bool = False,
        fast: bool = False,
        webhook_url: str | None = None,
        badger: bool = False,
        install_missing: bool = False,
        timeout: float = 90.0,
    ) -> Endpoints:
        """Build/find the binaries, render configs, start the four processes and wait until healthy.

        ports: explicit ports by name (see DEFAULT_PORTS); the rest use the default plan when free,
        or free ports when ``free_ports``. ``fast`` renders a test variant (1s scrape/evaluation,
        ``for: 0s``, 1s Alertmanager grouping, short sampling decision wait). ``webhook_url`` replaces
        the default webhook receiver URL (else $LLM_OTEL_ALERT_WEBHOOK_URL).
        """
        current = self._read_state()
        if current and all(self._alive(name, current) for name in PROCESS_NAMES):
            return Endpoints.from_ports(current["ports"])
        if current:
            self.down()
        bins = self.binaries(install_missing=install_missing)
        ui = self.jaeger_ui()
        chosen = choose_ports(ports, free=free_ports)
        for sub in ("logs", "pids", "collector/queue", "jaeger", "prometheus/data", "alertmanager/data"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        self._render(chosen, fast, webhook_url)
        state = {
            "ports": chosen,
            "fast": fast,
            "badger": badger,
            "binaries": bins,
            "commands": self._commands(bins, chosen, badger),
            "health": self._health_urls(chosen),
            "jaeger_ui": ui,
            "env": {k: v for k, v in self._env(chosen, fast, ui["assets"]).items()
                    if (k.startswith("LLM_OTEL_") or k == "GOMEMLIMIT") and k not in SECRET_ENV},
            "pids": {},
        }
        self._write_state(state)
        try:
            for name in PROCESS_NAMES:
                self._spawn(name, state)
            for name in PROCESS_NAMES:
                self.wait_healthy(name, timeout=timeout)
        except BaseException:
            self.down()
            raise
        return Endpoints.from_ports(chosen)

    def down(self) -> list[str]:
        """Stop the processes this state dir started (verified by command line). Returns their names."""
        state = self._read_state()
        stopped = []
        for name in [*(state or {}).get("apps", {}), *reversed(PROCESS_NAMES)]:
            if self.stop(name, state=state):
                stopped.append(name)
        if state is not None:
            state["pids"] = {}
            state["apps"] = {}
            self._write_state(state)
        return stopped

    def adopt_external(self, ports: Mapping[str, int]) -> None:
        """Record a stack run by someone else (docker compose) so apps can run next to it."""
        self._write_state({"ports": dict(ports), "fast": False, "external": True, "commands": {}, "health": {}, "pids": {}, "apps": {}})

    def run_app(self, name: str, cmd: list[str], env: Mapping[str, str], health_url: str, *, timeout: float = 60.0,
                ready: Callable[[], bool] | None = None) -> int:
        """Start an app process next to the stack (the demo service, the local LLM); ``down`` stops it too.

        The process gets its own session (it outlives the CLI), logs to ``logs/<name>.log`` and
        counts as healthy when ``health_url`` answers 2xx. Returns its pid.
        """
        state = self._read_state()
        if state is None:
            raise StackError(f"no stack state in {self.state_dir}: run up() first")
        if self._our_pid(name, state) is not None:
            self.stop(name, state=state)
        log = self.log_file(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} start {' '.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.state_dir, env=dict(env), start_new_session=True,
            )
        self._pid_file(name).parent.mkdir(parents=True, exist_ok=True)
        self._pid_file(name).write_text(json.dumps({"pid": proc.pid, "cmdline": cmd, "started": time.time()}))
        state.setdefault("apps", {})[name] = {"health": health_url}
        state.setdefault("pids", {})[name] = proc.pid
        self._write_state(state)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready() if ready is not None else _http_ok(health_url):
                return proc.pid
            if proc.poll() is not None:
                raise StackError(f"{name} exited during start-up; last log lines ({log}):\n{_tail(log)}")
            time.sleep(0.2)
        raise StackError(f"{name} not healthy at {health_url} after {timeout:.0f}s; last log lines:\n{_tail(log)}")

    def reload_prometheus(self, timeout: float = 30.0) -> None:
        """Make the running Prometheus re-read its rendered config: SIGHUP (the lifecycle API is off), then wait
        until its ``prometheus_config_last_reload_success_timestamp_seconds`` moves past the signal."""
        pid = self._our_pid("prometheus", self._read_state())
        if pid is None:
            raise StackError("prometheus is not running under this stack")
        metrics_url = self.endpoints().prometheus + "/metrics"
        sent = time.time()
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(metrics_url, timeout=2) as resp:
                    body = resp.read().decode()
            except OSError:
                body = ""
            found = re.search(r"(?m)^prometheus_config_last_reload_successful (\S+)", body)
            stamp = re.search(r"(?m)^prometheus_config_last_reload_success_timestamp_seconds (\S+)", body)
            if found and stamp and float(found.group(1)) == 1 and float(stamp.group(1)) >= int(sent):
                return
            time.sleep(0.2)
        raise StackError(f"Prometheus did not reload its config within {timeout:.0f} s: {_tail(self.log_file('prometheus'))}")

    def stop(self, name: str, *, state: dict[str, Any] | None = None, timeout: float = 15.0) -> bool:
        """Stop one process (SIGTERM, then SIGKILL after `timeout`) if it is ours and alive."""
        state = state if state is not None else self._read_state()
        pid = self._our_pid(name, state)
        self._pid_file(name).unlink(missing_ok=True)
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._pid_running(pid):
                return True
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return True

    def start(self, name: str, *, timeout: float = 60.0) -> None:
        """Start one process again with the rendered config of the current run and wait until healthy."""
        state = self._read_state()
        if state is None:
            raise StackError(f"no stack state in {self.state_dir}: run up() first")
        if not self._alive(name, state):
            self._spawn(name, state)
        self.wait_healthy(name, timeout=timeout)

    def restart(self, name: str, *, timeout: float = 60.0) -> None:
        self.stop(name)
        self.start(name, timeout=timeout)

    def wait_healthy(self, name: str, timeout: float = 60.0) -> None:
        state = self._read_state() or {}
        url = state.get("health", {}).get(name)
        if url is None:
            raise StackError(f"unknown process {name!r}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _http_ok(url):
                return
            if self._our_pid(name, state) is None:
                raise StackError(f"{name} exited during start-up; last log lines ({self.log_file(name)}):\n{_tail(self.log_file(name))}")
            time.sleep(0.2)
        raise StackError(f"{name} not healthy at {url} after {timeout:.0f}s; last log lines:\n{_tail(self.log_file(name))}")

    def status(self) -> dict[str, Any]:
        """Endpoints plus, per process, its pid (ours and alive, else None) and health."""
        state = self._read_state()
        if state is None:
            return {"running": False, "state_dir": str(self.state_dir), "processes": {}}
        endpoints = Endpoints.from_ports(state["ports"])
        processes = {}
        for name in PROCESS_NAMES:
            pid = self._our_pid(name, state)
            url = state.get("health", {}).get(name)
            processes[name] = {"pid": pid, "healthy": bool(pid and url) and _http_ok(url)}
        apps = {}
        for name, app in state.get("apps", {}).items():
            pid = self._our_pid(name, state)
            apps[name] = {"pid": pid, "healthy": bool(pid) and _http_ok(app["health"])}
        return {
            "otlp_grpc": endpoints.otlp_grpc,
            "otlp_http": endpoints.otlp_http,
            "jaeger_query": endpoints.jaeger_query,
            "jaeger_ui": endpoints.jaeger_search_url(),
            "jaeger_ui_note": state.get("jaeger_ui", {}).get("note"),
            "prometheus": endpoints.prometheus,
            "alertmanager": endpoints.alertmanager,
            "processes": processes,
            "apps": apps,
            "running": all(p["healthy"] for p in processes.values()),
            "state_dir": str(self.state_dir),
            "ports": state["ports"],
        }

    def endpoints(self) -> Endpoints:
        state = self._read_state()
        if state is None:
            raise StackError(f"no stack state in {self.state_dir}: run up() first")
        return Endpoints.from_ports(state["ports"])

    # ------------------------------------------------------------ internals
    def _spawn(self, name: str, state: dict[str, Any]) -> None:
        cmd = state["commands"][name]
        env = self._env(state["ports"], state["fast"], state.get("jaeger_ui", {}).get("assets"))
        log = self.log_file(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} start {' '.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.state_dir,
                env=env,
                start_new_session=True,  # survives the CLI; Ctrl-C in the caller does not kill it
            )
        record = {"pid": proc.pid, "cmdline": cmd, "started": time.time()}
        self._pid_file(name).write_text(json.dumps(record))
        state.setdefault("pids", {})[name] = proc.pid
        self._write_state(state)

    def _our_pid(self, name: str, state: dict[str, Any] | None) -> int | None:
        """The pid from our pid file, only if that process is alive and runs the command we started."""
        try:
            record = json.loads(self._pid_file(name).read_text())
        except (OSError, ValueError):
            return None
        pid = int(record.get("pid", 0))
        if pid <= 0 or not self._pid_running(pid):
            return None
        return pid if _runs(record, _cmdline(pid)) else None

    def _alive(self, name: str, state: dict[str, Any]) -> bool:
        return self._our_pid(name, state) is not None

    @staticmethod
    def _pid_running(pid: int) -> bool:
        try:
            os.waitpid(pid, os.WNOHANG)  # reap our own exited children
        except ChildProcessError:
            pass
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[-1].split()[0] != "Z"

    def _read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.endpoints_file.read_text())
        except (OSError, ValueError):
            return None

    def _write_state(self, state: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.endpoints_file.with_suffix(".tmp")
        data = dict(state)
        data["endpoints"] = Endpoints.from_ports(state["ports"]).as_dict()
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(self.endpoints_file)
