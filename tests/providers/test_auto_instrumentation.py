"""`opentelemetry-instrument python app.py` and `llm_otel.configure()` both instrument the SDKs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).parent / "apps" / "openai_app.py"


def _spans(stdout: str) -> list[dict]:
    decoder, spans, index = json.JSONDecoder(), [], 0
    while (start := stdout.find("{", index)) >= 0:
        obj, index = decoder.raw_decode(stdout, start)
        if "context" in obj and "name" in obj:
            spans.append(obj)
    return spans


def _run(llm_server, *, via_instrument: bool, extra_env=None, args=()):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
                "OTEL_SERVICE_NAME": "auto-app", "LOCAL_LLM_URL": llm_server.openai_base_url, **(extra_env or {})})
    cmd = [sys.executable, str(APP), *args]
    if via_instrument:
        cmd = [str(Path(sys.executable).parent / "opentelemetry-instrument"), *cmd]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return _spans(proc.stdout)


def test_opentelemetry_instrument_picks_up_our_instrumentor(llm_server):
    # the official openai instrumentation (entry point "openai", installed by the test extra) off: ours alone
    spans = _run(llm_server, via_instrument=True, extra_env={"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai"})
    chats = [s for s in spans if s["name"] == "chat gpt-4o-mini"]
    assert len(chats) == 2
    assert chats[0]["attributes"]["gen_ai.provider.name"] == "openai"
    assert chats[0]["attributes"]["llm_otel.cost.usd"] > 0  # our recorder's
    assert chats[0]["attributes"]["gen_ai.usage.output_tokens"] > 0
    assert chats[1]["attributes"]["gen_ai.request.stream"] is True
    assert chats[0]["resource"]["attributes"]["service.name"] == "auto-app"


def test_opentelemetry_instrument_with_the_official_openai_instrumentation_gives_one_span_per_call(llm_server):
    spans = _run(llm_server, via_instrument=True)  # both entry points load, in the order the distro finds them
    chats = [s for s in spans if s["name"] == "chat gpt-4o-mini"]
    assert len(chats) == 2 and len(spans) == 2
    assert all("llm_otel.cost.usd" not in s["attributes"] for s in chats)  # the official one recorded them


@pytest.mark.parametrize("mode", ["configure", "configure-first"])
def test_configure_instruments_installed_sdks(llm_server, mode):
    """After the app imported the SDK, or before: then the SDK is patched when the app imports it."""
    spans = _run(llm_server, via_instrument=False, args=(mode,))
    assert [s["name"] for s in spans].count("chat gpt-4o-mini") == 2


@pytest.mark.parametrize("name", ["openai", "llm_otel_openai"])
def test_an_env_var_turns_a_provider_off(llm_server, name):
    spans = _run(llm_server, via_instrument=False, args=("configure",),
                 extra_env={"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": name})
    assert spans == []


def test_configure_picks_up_every_installed_provider_sdk(otel_capture):
    from importlib.metadata import entry_points

    from llm_otel.instrumentors import KNOWN, instrument_installed

    new = {"llm_otel_google_genai", "llm_otel_mistralai", "llm_otel_ollama", "llm_otel_cohere"}
    registered = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")}
    assert all(registered[name] == KNOWN[name][1] for name in new)  # opentelemetry-instrument finds them too
    done = instrument_installed()
    try:
        assert new <= set(done)
    finally:
        for name in done:
            module_name, class_name = KNOWN[name][1].split(":")
            getattr(__import__(module_name, fromlist=[class_name]), class_name)().uninstrument()


def test_configure_skips_an_sdk_whose_parent_package_is_missing(monkeypatch):
    """``find_spec("pkg.sub")`` imports ``pkg`` and raises when it is missing (``llama_index.core``
    without llama_index): an SDK that is not installed is skipped, configure() does not fail."""
    from llm_otel import instrumentors

    monkeypatch.setattr(instrumentors, "KNOWN", {"llm_otel_absent": ("no_such_package_xyz.core", "no_such_package_xyz:X")})
    assert instrumentors.instrument_installed() == []


_EVERY_LIBRARY = r"""
import importlib, json, sys
import llm_otel
from llm_otel.instrumentors import KNOWN, _installed

libraries = {name: module for name, (module, _) in KNOWN.items() if name != "llm_otel_gpu" and _installed(module)}
llm_otel.configure()
out = {"installed": sorted(libraries), "imported_by_configure": sorted(n for n, m in libraries.items() if m in sys.modules)}
out["applied_before_import"], out["applied_after_import"] = [], []
for name, module in libraries.items():
    module_name, class_name = KNOWN[name][1].split(":")
    instrumentor = getattr(importlib.import_module(module_name), class_name)()
    if instrumentor.applied:
        out["applied_before_import"].append(name)
    importlib.import_module(module)  # what the app does: now the patches go in
    if instrumentor.applied:
        out["applied_after_import"].append(name)
print(json.dumps(out))
"""


def test_configure_imports_no_library_and_patches_each_when_the_app_imports_it():
    """configure() instruments every installed library we support, yet imports none of them (all of them
    together cost seconds and ~4 G instructions of start-up): each is patched on the app's first import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    proc = subprocess.run([sys.executable, "-c", _EVERY_LIBRARY], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out["installed"]) >= 15, out  # the test extra installs every supported library
    assert out["imported_by_configure"] == []
    assert out["applied_before_import"] == []
    assert sorted(out["applied_after_import"]) == out["installed"]


def test_uninstrument_before_the_import_cancels_the_patching():
    code = ("import sys, llm_otel.instrumentors.groq as g; i = g.GroqInstrumentor(); i.instrument(); i.uninstrument(); "
            "import groq; assert not i.applied; assert not hasattr(groq.resources.chat.completions.Completions.create, "
            "'__wrapped__'); i.instrument(); assert i.applied; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_a_failing_patch_never_breaks_the_apps_import():
    code = ("import llm_otel.instrumentors.groq as g\n"
            "def broken(self): raise RuntimeError('boom')\n"
            "g.GroqInstrumentor._wrap = broken\n"
            "g.GroqInstrumentor().instrument()\n"
            "import groq\n"
            "print('imported', groq.Groq.__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "imported Groq", proc.stderr
    assert "llm_otel contained an internal error in instrument groq" in proc.stderr


def test_each_instrumentor_listens_for_the_module_configure_checks():
    """KNOWN (what configure() checks is installed, without importing instrumentors) names the same module
    whose import applies each instrumentor's patches; a mismatch would leave a library unpatched."""
    import importlib

    from llm_otel.instrumentors import KNOWN

    for name, (module, target) in KNOWN.items():
        module_name, class_name = target.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        listens = getattr(cls, "library", None) or getattr(cls, "_module", None)
        if listens is not None:  # MCP hooks each of its modules; the GPU reporter is no library patch
            assert listens == module, (name, listens, module)
