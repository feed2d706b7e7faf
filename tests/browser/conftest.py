"""The browser suite: Debian's Chromium, driven by Playwright for Python, against the real local stack.

A session stack (the e2e `pipeline` fixture: Collector, Jaeger serving the UI built by jaeger/build-ui.sh,
Prometheus, Alertmanager on free ports) gets demo traffic from the demo service with content capture on;
the tests then look at the pages a user opens. A missing Chromium, Playwright or Jaeger UI build FAILS with
the command that installs it. A failing test saves a screenshot of its page into its pytest tmp dir and
prints the path. With LLM_OTEL_SCREENSHOTS=<dir> the tests also write README's pictures there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from llm_otel_tools.demo.cli import start_apps, wait_for_scrape
from llm_otel_tools.demo.traffic import TrafficSummary, run_traffic

from tests.e2e.conftest import Pipeline, pipeline, webhook  # noqa: F401 - the session stack fixtures

CHROMIUM = os.environ.get("LLM_OTEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}


@dataclass
class DemoRun:
    pipeline: Pipeline
    summary: TrafficSummary
    started: float


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread while
# it is open, which would break every async test collected after this suite.
@pytest.fixture(scope="module")
def demo(browser: Any, pipeline: Pipeline) -> Iterator[DemoRun]:  # noqa: F811 - the imported session fixture
    """Demo traffic through the demo service (content capture on, as a developer would look at it).

    Asks for the browser first, so a missing Chromium fails before the stack starts.
    """
    state = pipeline.stack.status()
    if state.get("jaeger_ui_note"):
        pytest.fail(f"Jaeger serves no UI build: {state['jaeger_ui_note']}. Build it with: make components", pytrace=False)
    started = time.time()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
        apps = start_apps(pipeline.stack, pipeline.endpoints)
    summary = run_traffic(apps["demo service"], requests=40, concurrency=4, seed=3)
    wait_for_scrape(pipeline.endpoints.prometheus, summary.llm_calls_total(), timeout=90)
    yield DemoRun(pipeline, summary, started)
    for name in ("demo-service", "local-llm"):
        pipeline.stack.stop(name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `sudo apt-get install chromium` "
                    "(or `make components`), or set LLM_OTEL_CHROMIUM to a Chromium binary", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: pip install -e '.[test]' (never `playwright install`: "
                    "the tests drive the system Chromium)", pytrace=False)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh page; on failure its screenshot goes to the test's tmp dir (path printed)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failing page ({page.url}): {shot}")
        except Exception as exc:
            print(f"\nno screenshot of the failing page: {exc}")
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def save_picture(page: Any, name: str, height: int | None = None, **options: Any) -> None:
    """Write a README picture when LLM_OTEL_SCREENSHOTS names a directory (`height`: of the viewport, for it)."""
    target = os.environ.get("LLM_OTEL_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        if height:
            page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
            page.wait_for_timeout(500)  # let the UI re-lay itself out
        page.screenshot(path=str(Path(target) / name), **options)
