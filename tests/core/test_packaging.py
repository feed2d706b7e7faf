"""The distribution installs and works with only its declared dependencies, and its two houses
(the library ``llm_otel`` and the tools ``llm_otel_tools``) keep their boundary."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIBRARY = REPO / "instrumentation" / "llm_otel"

SCRIPT = """
import importlib.util, json, os
import llm_otel
from llm_otel.testing import TelemetryCapture
assert importlib.util.find_spec("openai") is None, "openai must not be a core dependency"
with TelemetryCapture() as cap:
    with llm_otel.workflow("w"):
        with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
            call.input_tokens, call.output_tokens = 10, 2
    print(json.dumps({"spans": [s.name for s in cap.spans], "cost": call.cost_usd}))
"""


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_library_never_imports_the_tools():
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in _imported_modules(path) if m.split(".")[0] == "llm_otel_tools")
        for path in LIBRARY.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_every_library_module_loads_no_tool_module():
    code = (
        "import importlib, pkgutil, sys, llm_otel\n"
        "for m in pkgutil.walk_packages(llm_otel.__path__, 'llm_otel.'):\n"
        "    if m.name != 'llm_otel.pytest_plugin': importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.startswith('llm_otel_tools')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert run.stdout.strip() == "[]"


@pytest.mark.timeout(900)  # a fresh venv and a wheel build: minutes on a busy 2-core machine
def test_clean_install_without_extras(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(REPO)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    run = subprocess.run([str(py), "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert '"spans": ["chat gpt-4o-mini", "invoke_workflow w"]' in run.stdout
    assert '"cost": 2.7e-06' in run.stdout

    # the tools, from the wheel, outside any checkout
    cli = str(env_dir / "bin" / "llm-otel")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("LLM_OTEL_REPO_ROOT", None)
    demo = subprocess.run([cli, "demo"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert demo.returncode == 1
    assert "needs the 'demo' extra" in demo.stderr and "pip install 'llm-otel[demo]'" in demo.stderr, demo.stderr
    status = subprocess.run([cli, "stack", "status", "--json"], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env=env)
    assert status.returncode in (0, 1), status.stderr  # 1: not running; never "cannot find the pipeline configs"
    assert "cannot find" not in status.stderr
    report = json.loads(status.stdout)
    assert str(tmp_path / "state" / "llm-otel" / "stack") in json.dumps(report)
    shared = env_dir / "share" / "llm-otel"
    assert (shared / "otel-collector-config.yaml").is_file() and (shared / "prometheus" / "rules").is_dir()
