"""The distribution installs and works with only its declared dependencies."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

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
