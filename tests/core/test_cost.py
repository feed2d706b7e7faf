"""Cost from offline prices: bundled genai-prices data, a user price file that wins, unpriced models counted."""

from __future__ import annotations

import json

import llm_otel
import pytest
from llm_otel import _pricing


@pytest.fixture(autouse=True)
def _fresh_price_cache():
    _pricing.clear_cache()
    yield
    _pricing.clear_cache()


def _cost_of(otel_capture, provider, model, **usage):
    with llm_otel.llm_call(provider=provider, model=model) as call:
        for k, v in usage.items():
            setattr(call, k, v)
    return call.cost_usd


def test_openai_cost_from_bundled_prices_with_cached_input(otel_capture):
    cost = _cost_of(otel_capture, "openai", "gpt-4o-mini", input_tokens=1000, output_tokens=100, cache_read_input_tokens=200)
    assert cost == pytest.approx((800 * 0.15 + 200 * 0.075 + 100 * 0.6) / 1e6)
    point = otel_capture.metric_point("llm_otel.client.cost")
    assert point.value == pytest.approx(cost)
    assert otel_capture.span("chat gpt-4o-mini").attributes["llm_otel.cost.usd"] == pytest.approx(cost)


def test_anthropic_cost_counts_cache_writes_and_reads(otel_capture):
    # conventions: input_tokens = input + cache_read + cache_write
    cost = _cost_of(otel_capture, "anthropic", "claude-3-5-sonnet", input_tokens=1300, output_tokens=50,
                    cache_read_input_tokens=200, cache_write_input_tokens=100)
    assert cost == pytest.approx((1000 * 3 + 200 * 0.3 + 100 * 3.75 + 50 * 15) / 1e6)


def test_tiered_prices_match_genai_prices_above_the_threshold(otel_capture):
    from genai_prices import Usage, calc_price

    expected = float(calc_price(Usage(input_tokens=250_000, output_tokens=1000), model_ref="claude-sonnet-4-5",
                                provider_id="anthropic").total_price)
    cost = _cost_of(otel_capture, "anthropic", "claude-sonnet-4-5", input_tokens=250_000, output_tokens=1000)
    assert cost == pytest.approx(expected)
    small = _cost_of(otel_capture, "anthropic", "claude-sonnet-4-5", input_tokens=1000, output_tokens=10)
    assert small == pytest.approx((1000 * 3 + 10 * 15) / 1e6)


def test_response_model_is_priced_when_known(otel_capture):
    with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
        call.response_model = "gpt-4o-mini-2024-07-18"
        call.input_tokens, call.output_tokens = 1_000_000, 0
    assert call.cost_usd == pytest.approx(0.15)


def test_unknown_model_has_no_cost_and_is_counted(otel_capture):
    cost = _cost_of(otel_capture, "openai", "mock-llm-v1", input_tokens=10, output_tokens=10)
    assert cost is None
    assert otel_capture.metric_points("llm_otel.client.cost") == []
    unpriced = otel_capture.metric_point("llm_otel.client.unpriced")
    assert unpriced.value == 1 and unpriced.attributes["gen_ai.request.model"] == "mock-llm-v1"
    assert "llm_otel.cost.usd" not in otel_capture.span("chat mock-llm-v1").attributes


def test_self_hosted_provider_is_not_priced_as_a_public_api(otel_capture):
    assert _cost_of(otel_capture, "vllm", "gpt-4o-mini", input_tokens=10, output_tokens=10) is None


def test_user_price_file_wins(otel_capture, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({
        "openai/gpt-4o-mini": {"input": 1.0, "output": 2.0},
        "mock-llm-v1": {"input": 10, "output": 20, "cache_read": 1},
    }))
    otel_capture.settings(prices_file=str(prices))
    assert _cost_of(otel_capture, "openai", "gpt-4o-mini", input_tokens=1000, output_tokens=1000) == pytest.approx(0.003)
    assert _cost_of(otel_capture, "openai", "mock-llm-v1", input_tokens=100, output_tokens=10, cache_read_input_tokens=50) == pytest.approx((50 * 10 + 50 * 1 + 10 * 20) / 1e6)


def test_unreadable_price_file_falls_back_with_an_error_log(otel_capture, tmp_path, caplog):
    bad = tmp_path / "prices.json"
    bad.write_text("{not json")
    otel_capture.settings(prices_file=str(bad))
    assert _cost_of(otel_capture, "openai", "gpt-4o-mini", input_tokens=1000, output_tokens=0) == pytest.approx(0.00015)
    assert any("could not be read" in r.getMessage() for r in caplog.records)


def test_explicit_cost_overrides_computation(otel_capture):
    assert _cost_of(otel_capture, "openai", "gpt-4o-mini", input_tokens=10, cost_usd=1.25) == 1.25
    assert otel_capture.metric_point("llm_otel.client.cost").value == 1.25


def test_lookups_are_memoized_per_model(otel_capture, monkeypatch):
    calls = []
    real = _pricing._from_genai_prices
    monkeypatch.setattr(_pricing, "_from_genai_prices", lambda p, m: calls.append((p, m)) or real(p, m))
    for _ in range(5):
        _cost_of(otel_capture, "openai", "gpt-4o-mini", input_tokens=1, output_tokens=1)
    assert calls == [("openai", "gpt-4o-mini")]


def test_prices_work_with_no_network(otel_capture, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("llm_otel tried to open a network connection for prices")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    cost = _cost_of(otel_capture, "anthropic", "claude-3-5-sonnet", input_tokens=1000, output_tokens=0)
    assert cost == pytest.approx(0.003)
