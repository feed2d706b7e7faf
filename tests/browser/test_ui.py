"""What a user sees after `make demo`, checked in a real browser (Debian's Chromium via Playwright).

Jaeger's own UI (built from source by jaeger/build-ui.sh, served by the local Jaeger): the search page lists
the demo service; a /rag trace shows the server > workflow > retrieval / chat tree and our attributes in the
span detail; an /agent trace shows its tool calls. Prometheus' graph page plots the model-call counter for
every model the traffic used.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import llm_otel._semconv as sc
import pytest
from llm_otel_tools.demo.cli import SERVICE_NAME

from tests.browser.conftest import DemoRun, save_picture

pytestmark = pytest.mark.stack


def _trace_with_root(run: DemoRun, root: str) -> tuple[str, list[dict[str, Any]]]:
    """The first successful trace whose root span is `root`, with its spans from Jaeger's API."""
    for trace_id in run.summary.trace_ids:
        spans = run.pipeline.trace_spans(trace_id)
        if any(s["name"] == root and not s.get("parentSpanId") for s in spans):
            return trace_id, spans
    pytest.fail(f"no {root!r} trace among the {len(run.summary.trace_ids)} traces of the demo traffic")


def _rows(page: Any) -> list[tuple[int, str]]:
    """The trace page's span rows as (depth, span name), top to bottom."""
    return page.eval_on_selector_all(
        ".span-row .span-name-wrapper",
        """els => els.map(el => {
             const row = el.closest('.span-row');
             const depth = row.querySelectorAll('.SpanTreeOffset--indentGuide').length;
             const name = el.querySelector('.endpoint-name')?.textContent ?? '';
             return [depth, name.trim()];
           })""",
    )


def test_search_page_lists_the_demo_service(demo: DemoRun, page: Any) -> None:
    page.goto(demo.pipeline.endpoints.jaeger_search_url())
    page.get_by_text("Find Traces").first.wait_for()
    page.locator("#search-form_service, [data-testid='service-select'], .ant-select").first.click()
    option = page.get_by_title(SERVICE_NAME).first
    option.wait_for()
    # searching it lists the demo's traces, each headed "<service>: <root span>"; the limit is above the
    # whole demo traffic, so the few /rag traces are listed however the newest 20 happen to fall
    limit = 4 * len(demo.summary.trace_ids) + 100
    page.goto(demo.pipeline.endpoints.jaeger_search_url(SERVICE_NAME) + f"&lookback=1h&limit={limit}")
    page.get_by_text(f"{SERVICE_NAME}: POST /rag").first.wait_for()
    save_picture(page, "jaeger-search.png")


def test_rag_trace_page_shows_the_tree_and_our_attributes(demo: DemoRun, page: Any) -> None:
    trace_id, spans = _trace_with_root(demo, "POST /rag")
    chat = next(s for s in spans if s["name"].startswith(f"{sc.OP_CHAT} "))
    page.goto(demo.pipeline.endpoints.jaeger_trace_url(trace_id))
    page.locator(".span-row .endpoint-name", has_text="invoke_workflow rag").first.wait_for()
    rows = _rows(page)
    depth = {name: d for d, name in rows}
    assert depth["POST /rag"] < depth["invoke_workflow rag"], rows
    retrieval = next(name for _, name in rows if name.startswith("retrieval "))
    assert depth[retrieval] == depth[chat["name"]] == depth["invoke_workflow rag"] + 1, rows

    # the model call's detail: every attribute the recorder set, tokens and cost included
    page.locator(".span-row .endpoint-name", has_text=chat["name"]).first.click()
    detail = page.locator(".detail-row").first
    detail.wait_for()
    genai_tab = detail.get_by_role("tab", name="GenAI")
    if genai_tab.count():  # jaeger-ui main (JAEGER_UI_VERSION): the GenAI view shows the conversation and tokens
        roles = [r.lower() for r in detail.locator(".GenAITab--messageRole").all_inner_texts()]
        assert "user" in roles and "assistant" in roles, roles
        tokens = detail.locator(".GenAITab--tokens").inner_text()
        assert re.search(rf"Input\s+{int(chat['attrs'][sc.GEN_AI_USAGE_INPUT_TOKENS]):,}\b", tokens), tokens
        detail.get_by_role("tab", name="Details").click()
    detail.get_by_text(re.compile(r"^(Attributes|Tags):?$")).first.click()
    detail.locator("table").first.wait_for()
    text = detail.inner_text()
    for key in (sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.LLM_OTEL_COST_USD,
                sc.GEN_AI_INPUT_MESSAGES):
        assert key in text, f"{key} not in the span detail:\n{text[:2000]}"
    assert chat["attrs"][sc.GEN_AI_REQUEST_MODEL] in text
    assert str(chat["attrs"][sc.GEN_AI_USAGE_INPUT_TOKENS]) in text
    # for the picture: scroll the attribute table (a box of its own) to the model, token and cost rows
    detail.locator("td", has_text=re.compile(rf"^{re.escape(sc.GEN_AI_REQUEST_MODEL)}$")).first.evaluate(
        """row => {
             let box = row.parentElement;
             while (box && !(box.scrollHeight > box.clientHeight && getComputedStyle(box).overflowY !== 'visible')) {
               box = box.parentElement;
             }
             if (box) box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top;
           }""")
    save_picture(page, "jaeger-trace.png", height=1100)


def test_agent_trace_page_shows_its_tools(demo: DemoRun, page: Any) -> None:
    trace_id, spans = _trace_with_root(demo, "POST /agent")
    tools = sorted({s["name"] for s in spans if s["name"].startswith(f"{sc.OP_EXECUTE_TOOL} ")})
    assert tools, [s["name"] for s in spans]
    page.goto(demo.pipeline.endpoints.jaeger_trace_url(trace_id))
    page.get_by_text("invoke_agent demo-agent").first.wait_for()
    names = [name for _, name in _rows(page)]
    for tool in tools:
        assert tool in names, (tool, names)


def test_prometheus_graph_plots_the_model_calls(demo: DemoRun, page: Any) -> None:
    models = sorted(demo.summary.llm.get("chat", {}))
    assert models
    metric = "gen_ai_client_operation_duration_seconds_count"
    # Debian's Prometheus 2.42 redirects /graph to its classic UI (Rickshaw); newer ones serve the React UI (Flot)
    page.goto(f"{demo.pipeline.endpoints.prometheus}/graph?g0.expr={metric}&g0.tab=0&g0.range_input=5m")
    lines = page.locator(".graph_area svg path.path, canvas.flot-base")
    lines.first.wait_for(state="attached")  # a flat series is a zero-height path, which counts as hidden
    legend = page.locator(".legend, .graph-legend").first
    legend.wait_for()
    text = legend.inner_text()
    for model in models:
        assert f'gen_ai_request_model="{model}"' in text, (model, text[:2000])
    assert lines.count() >= len(models) or page.locator("canvas.flot-base").count()
    save_picture(page, "prometheus-graph.png")


def test_report_table_lists_every_model(demo: DemoRun, page: Any, tmp_path: Any) -> None:
    """`llm-otel report`, run as a user runs it; its table (colours included) becomes README's picture."""
    window = f"{int(time.time() - demo.started) + 60}s"
    cli = Path(sys.executable).with_name("llm-otel")
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "170"}
    out = subprocess.run([str(cli), "report", "--window", window, "--prometheus", demo.pipeline.endpoints.prometheus],
                         capture_output=True, text=True, env=env, timeout=60, check=True).stdout
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    for model in demo.summary.llm.get("chat", {}):
        assert re.search(rf"^[│| ]*{re.escape(model)}\s", plain, re.MULTILINE), (model, plain)
    assert "firing alerts" in plain

    from rich.console import Console
    from rich.terminal_theme import MONOKAI
    from rich.text import Text

    console = Console(record=True, width=170, file=io.StringIO())
    console.print(f"$ llm-otel report --window {window}")
    console.print(Text.from_ansi(out))
    html = tmp_path / "report.html"
    html.write_text(console.export_html(theme=MONOKAI, inline_styles=True))
    page.goto(html.as_uri())
    page.get_by_text("TOTAL").first.wait_for()
    save_picture(page, "report.png", height=320, full_page=True)
