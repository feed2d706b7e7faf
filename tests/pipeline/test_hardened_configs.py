"""The pipeline's locked doors, checked with the real tools on the committed files: the Collector loads the
auth / TLS / cardinality switches, compose refuses to start Grafana without an admin password and keeps
anonymous visitors out of editing, and neither Prometheus launcher turns the lifecycle API on."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request

import pytest
import yaml
from llm_otel_tools.stack import GO_HINT, Stack, find_repo_root
from llm_otel_tools.stack._docker import grafana_admin_password
from llm_otel_tools.stack._stack import set_door_switches

from tests.support import poll

REPO = find_repo_root()
CONFIG = "--config=otel-collector-config.yaml"


@pytest.fixture(scope="module")
def otelcol() -> str:
    proc = subprocess.run(["bash", "collector/build.sh"], cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"collector/build.sh failed ({proc.returncode}): {proc.stderr[-2000:]}\n{GO_HINT}")
    return proc.stdout.strip().splitlines()[-1]


def validate(binary: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LLM_OTEL_")}
    return subprocess.run([binary, "validate", CONFIG], cwd=REPO, env={**clean, **env},
                          capture_output=True, text=True, check=False)


def compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose not found on PATH; install it with: apt-get install docker-compose")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "LLM_OTEL_"))}
    return subprocess.run([binary, "-f", "docker-compose.yml", *args], cwd=REPO, env={**clean, **env},
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("switches", [
    {},
    {"LLM_OTEL_OTLP_AUTH": "true", "LLM_OTEL_OTLP_TOKEN": "s3cret"},
    {"LLM_OTEL_OTLP_AUTH": "true"},  # no token: starts, and refuses everyone (the \x01 default)
    {"LLM_OTEL_OTLP_AUTH": "true", "LLM_OTEL_OTLP_TOKEN_FILE": "/etc/hostname"},
    {"LLM_OTEL_JAEGER_INSECURE": "false", "LLM_OTEL_SPANMETRICS_CARDINALITY_LIMIT": "50"},
], ids=["defaults", "token", "auth-without-token", "token-file", "jaeger-tls-and-limit"])
def test_collector_validates_with_the_door_switches(otelcol: str, switches: dict[str, str]):
    proc = validate(otelcol, **switches)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_cardinality_limit_is_a_live_setting_of_span_metrics(otelcol: str):
    proc = validate(otelcol, LLM_OTEL_SPANMETRICS_CARDINALITY_LIMIT="-1")
    assert proc.returncode != 0 and "aggregation_cardinality_limit" in proc.stderr, proc.stderr[-2000:]
    connector = yaml.safe_load((REPO / "otel-collector-config.yaml").read_text())["connectors"]["span_metrics"]
    assert connector["aggregation_cardinality_limit"] == "${env:LLM_OTEL_SPANMETRICS_CARDINALITY_LIMIT:-1000}"


def test_both_receivers_use_the_authenticator_and_tls_switches():
    config = yaml.safe_load((REPO / "otel-collector-config.yaml").read_text())
    assert "bearertokenauth/otlp" in config["service"]["extensions"]
    for protocol in ("grpc", "http"):
        receiver = config["receivers"]["otlp"]["protocols"][protocol]
        assert receiver["auth"] == {"enabled": "${env:LLM_OTEL_OTLP_AUTH:-false}", "authenticator": "bearertokenauth/otlp"}
        assert receiver["tls"]["enabled"] == "${env:LLM_OTEL_OTLP_TLS:-false}"
        assert receiver["endpoint"].startswith("${env:LLM_OTEL_LISTEN_HOST:-127.0.0.1}:")


def test_compose_refuses_to_start_without_a_grafana_admin_password():
    proc = compose("config", "-q")
    assert proc.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in proc.stderr, proc.stderr


def test_compose_grafana_has_the_given_password_and_no_anonymous_editing():
    proc = compose("config", GRAFANA_ADMIN_PASSWORD="correct horse battery")
    assert proc.returncode == 0, proc.stderr
    services = yaml.safe_load(proc.stdout)["services"]
    grafana = services["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == "correct horse battery"
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_USERS_ALLOW_SIGN_UP"] == "false" and grafana["GF_USERS_VIEWERS_CAN_EDIT"] == "false"
    viewer = compose("config", GRAFANA_ADMIN_PASSWORD="x", GRAFANA_ANONYMOUS_VIEWER="true")
    anonymous = yaml.safe_load(viewer.stdout)["services"]["grafana"]["environment"]
    assert anonymous["GF_AUTH_ANONYMOUS_ENABLED"] == "true" and anonymous["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert "--web.enable-lifecycle" not in services["prometheus"]["command"]
    # unset door variables stay unset in the container (the Collector's defaults apply); set ones pass through
    collector = services["otel-collector"]["environment"]
    assert collector["LLM_OTEL_OTLP_TOKEN"] is None and collector["LLM_OTEL_OTLP_AUTH"] is None
    with_token = compose("config", GRAFANA_ADMIN_PASSWORD="x", LLM_OTEL_OTLP_AUTH="true", LLM_OTEL_OTLP_TOKEN="t0k")
    collector = yaml.safe_load(with_token.stdout)["services"]["otel-collector"]["environment"]
    assert collector["LLM_OTEL_OTLP_AUTH"] == "true" and collector["LLM_OTEL_OTLP_TOKEN"] == "t0k"


def test_stack_runner_starts_prometheus_without_the_lifecycle_api(tmp_path):
    ports = {name: 1 for name in ("prometheus", "alertmanager")}
    commands = Stack(tmp_path, repo_root=REPO)._commands({n: n for n in ("jaeger", "collector", "prometheus", "alertmanager")},
                                                        ports, badger=False)
    assert not any("lifecycle" in arg for arg in commands["prometheus"])


@pytest.mark.parametrize(("given", "expected"), [
    ({}, {}),
    ({"LLM_OTEL_OTLP_TOKEN": "t"}, {"LLM_OTEL_OTLP_TOKEN": "t", "LLM_OTEL_OTLP_AUTH": "true"}),
    ({"LLM_OTEL_OTLP_TOKEN": "t", "LLM_OTEL_OTLP_AUTH": "false"}, {"LLM_OTEL_OTLP_TOKEN": "t", "LLM_OTEL_OTLP_AUTH": "false"}),
    ({"LLM_OTEL_OTLP_TOKEN": "", "LLM_OTEL_OTLP_TLS_CERT": "c.pem", "LLM_OTEL_OTLP_TLS_KEY": "k.pem"},
     {"LLM_OTEL_OTLP_TLS_CERT": "c.pem", "LLM_OTEL_OTLP_TLS_KEY": "k.pem", "LLM_OTEL_OTLP_TLS": "true"}),
])
def test_stack_runner_door_switches(given: dict[str, str], expected: dict[str, str]):
    env = {"PATH": "/bin", **given}
    set_door_switches(env)
    assert env == {"PATH": "/bin", **expected}



def test_the_docker_runner_generates_the_grafana_password_once_and_keeps_it_private(tmp_path):
    password, path = grafana_admin_password(tmp_path)
    assert len(password) >= 20 and password != "admin"
    assert path.stat().st_mode & 0o777 == 0o600
    assert grafana_admin_password(tmp_path) == (password, path)
    resolved = compose("config", GRAFANA_ADMIN_PASSWORD=password)
    assert yaml.safe_load(resolved.stdout)["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == password


def test_auth_switched_on_without_a_token_refuses_everyone(otelcol: str, tmp_path):
    """The Collector alone (its other exporters have nowhere to send, which does not matter here)."""
    names = ("OTLP_GRPC", "OTLP_HTTP", "PROM", "METRICS", "HEALTH", "ZPAGES", "PPROF")
    ports = {f"LLM_OTEL_COLLECTOR_{n}_PORT": str(_free_port()) for n in names}
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LLM_OTEL_")}, **ports,
           "LLM_OTEL_OTLP_AUTH": "true", "LLM_OTEL_JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{_free_port()}",
           "LLM_OTEL_COLLECTOR_STORAGE_DIR": str(tmp_path / "queue"), "LLM_OTEL_EVENTS_FILE": str(tmp_path / "e.jsonl")}
    with open(tmp_path / "collector.log", "wb") as log:
        proc = subprocess.Popen([otelcol, CONFIG], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        poll(lambda: _status(f"http://127.0.0.1:{ports['LLM_OTEL_COLLECTOR_HEALTH_PORT']}/") == 200,
             timeout=30, what="the Collector's health check")
        url = f"http://127.0.0.1:{ports['LLM_OTEL_COLLECTOR_OTLP_HTTP_PORT']}/v1/traces"
        for header in (None, "Bearer ", "Bearer unset", "Bearer"):
            assert _status(url, b'{"resourceSpans": []}', header) == 401, header
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str, data: bytes | None = None, authorization: str | None = None) -> int:
    headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
