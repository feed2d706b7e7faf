"""The no-Docker stack runner without starting anything: rendering, pid safety, clear install errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from llm_otel_tools.stack import APT_HINT, DEFAULT_PORTS, Stack, StackError, main
from llm_otel_tools.stack import _stack as stack_module


def ports() -> dict[str, int]:
    return {name: 20000 + i for i, name in enumerate(DEFAULT_PORTS)}


def test_rendered_test_variant_is_valid_and_uses_the_chosen_ports(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_OTEL_COST_BUDGET_USD_PER_HOUR", "2.5")
    stack = Stack(tmp_path)
    chosen = ports()
    stack._render(chosen, fast=True, webhook_url="http://127.0.0.1:5999/hook")

    prom = (tmp_path / "prometheus" / "prometheus.yml").read_text()
    for key in ("collector_prometheus", "collector_metrics", "jaeger_metrics", "alertmanager", "prometheus"):
        assert f'"127.0.0.1:{chosen[key]}"' in prom
    assert "otel-collector:" not in prom and "jaeger:8887" not in prom
    assert "scrape_interval: 1s" in prom and "evaluation_interval: 1s" in prom
    alerts = (tmp_path / "prometheus" / "rules" / "llm-alerts.yml").read_text()
    assert "for: 0s" in alerts and "for: 5m" not in alerts
    assert "vector(2.5)" in (tmp_path / "prometheus" / "rules" / "llm-recording.yml").read_text()
    am = (tmp_path / "alertmanager" / "alertmanager.yml").read_text()
    assert "http://127.0.0.1:5999/hook" in am and "group_wait: 1s" in am

    promtool = shutil.which("promtool") or pytest.fail(f"promtool not found; install with: {APT_HINT}")
    amtool = shutil.which("amtool") or pytest.fail(f"amtool not found; install with: {APT_HINT}")
    for cmd in ([promtool, "check", "config", str(tmp_path / "prometheus" / "prometheus.yml")],
                [amtool, "check-config", str(tmp_path / "alertmanager" / "alertmanager.yml")]):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_committed_variant_keeps_realistic_for_durations(tmp_path):
    Stack(tmp_path)._render(ports(), fast=False, webhook_url=None)
    alerts = (tmp_path / "prometheus" / "rules" / "llm-alerts.yml").read_text()
    assert "for: 5m" in alerts and "for: 0s" not in alerts
    assert "http://127.0.0.1:5001/llm-otel/alerts" in (tmp_path / "alertmanager" / "alertmanager.yml").read_text()


def test_down_never_signals_a_process_it_did_not_start(tmp_path):
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "pids").mkdir()
        # A pid file whose recorded command line does not match the live process.
        (tmp_path / "pids" / "collector.pid").write_text(json.dumps({"pid": stranger.pid, "cmdline": ["/x/otelcol-llm", "--config=y"]}))
        assert Stack(tmp_path).down() == []
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_process_just_started_is_ours_before_its_arguments_show():
    # Right after Popen returns, the kernel may not have set up the new program's arguments yet:
    # /proc/<pid>/cmdline reads empty for a moment. The stack took that for "exited during start-up"
    # (a CI run failed so, restarting Jaeger under load). Read as the stack reads it, at once.
    cmd = [shutil.which("sleep") or "/bin/sleep", "30"]
    seen_empty = 0
    for _ in range(200):
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            cmdline = stack_module._cmdline(proc.pid)
            seen_empty += cmdline == []
            assert stack_module._runs({"pid": proc.pid, "cmdline": cmd, "started": time.time()}, cmdline), cmdline
        finally:
            proc.kill()
            proc.wait()
    print(f"empty command line right after Popen: {seen_empty} of 200")
    # ... but an empty command line long after the recorded start is not taken for ours (pid safety).
    assert not stack_module._runs({"cmdline": cmd, "started": time.time() - 60}, [])
    assert not stack_module._runs({"cmdline": cmd, "started": time.time()}, ["/usr/bin/other"])
    assert not stack_module._runs({"cmdline": cmd, "started": time.time()}, None)


def test_status_without_a_run(tmp_path, capsys):
    assert Stack(tmp_path).status()["running"] is False
    assert main(["status", "--json", "--state-dir", str(tmp_path)]) == 1
    assert json.loads(capsys.readouterr().out)["processes"] == {}


def test_missing_prometheus_names_the_apt_command(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(stack_module.shutil, "which", lambda name: None if "prometheus" in name or name == "alertmanager" else real_which(name))
    monkeypatch.delenv("LLM_OTEL_STACK_APT_INSTALL", raising=False)
    with pytest.raises(StackError, match="apt-get install prometheus prometheus-alertmanager"):
        Stack(tmp_path).binaries()


def test_missing_go_names_the_install(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(stack_module.shutil, "which", lambda name: None if name == "go" else real_which(name))
    monkeypatch.setenv("LLM_OTEL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("LLM_OTEL_COLLECTOR_BIN", raising=False)
    with pytest.raises(StackError, match="go.dev/dl"):
        Stack(tmp_path)._build("collector/build.sh", "LLM_OTEL_COLLECTOR_BIN")


def test_cli_error_exit_code(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_OTEL_REPO_ROOT", str(tmp_path))  # not a checkout
    assert main(["status", "--state-dir", str(tmp_path)]) == 2
    assert "LLM_OTEL_REPO_ROOT" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "llm_otel_tools.stack", "--help"], capture_output=True, text=True, check=False,
                          env={**os.environ})
    assert proc.returncode == 0 and "up,down,status" in proc.stdout.replace(" ", "")
