"""`opentelemetry-instrument` and `llm_otel.configure()` both pick up the four vector-store instrumentors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import llm_otel._semconv as sc
import pytest

from tests.providers.test_auto_instrumentation import _spans

APP = Path(__file__).parent / "apps" / "vector_app.py"
EXPECTED = {
    ("retrieval IndexFlatL2", sc.DB_SYSTEM_FAISS),
    ("retrieval q_docs", sc.DB_SYSTEM_QDRANT),
    ("retrieval c_docs", sc.DB_SYSTEM_CHROMA),
    ("retrieval l_docs", sc.DB_SYSTEM_LANCEDB),
    ("upsert q_docs", sc.DB_SYSTEM_QDRANT),
    ("add c_docs", sc.DB_SYSTEM_CHROMA),
}


def _run(*, via_instrument: bool, disabled: str = "") -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
                "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": disabled})
    cmd = [sys.executable, str(APP)] + ([] if via_instrument else ["configure"])
    if via_instrument:
        cmd = [str(Path(sys.executable).parent / "opentelemetry-instrument"), *cmd]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return _spans(proc.stdout)


@pytest.mark.parametrize("via_instrument", [True, False], ids=["opentelemetry-instrument", "configure"])
def test_every_store_is_instrumented_from_outside(via_instrument):
    spans = _run(via_instrument=via_instrument)
    assert {(s["name"], s["attributes"][sc.DB_SYSTEM_NAME]) for s in spans} == EXPECTED
    assert len(spans) == len(EXPECTED)


def test_an_env_var_turns_stores_off():
    spans = _run(via_instrument=False, disabled="faiss,llm_otel_chromadb")
    assert {s["attributes"][sc.DB_SYSTEM_NAME] for s in spans} == {sc.DB_SYSTEM_QDRANT, sc.DB_SYSTEM_LANCEDB}


def test_configure_does_not_import_an_unused_store():
    """Importing chromadb or lancedb takes seconds: configure() patches them only once the app imports them."""
    code = ("import sys, llm_otel; llm_otel.configure(); "
            "print(sorted(m for m in ('chromadb', 'qdrant_client', 'lancedb', 'faiss') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"})
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
