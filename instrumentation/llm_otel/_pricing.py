"""Cost of a call in USD, from offline price data only.

Prices come from the ``genai-prices`` package's bundled snapshot (never fetched at run
time) and from a user price file (``LLM_OTEL_PRICES_FILE``) that wins. A raw
genai-prices lookup costs ~60-100 us, so each (provider, model) is resolved once into a
small rate table and later calls do a few float multiplications.

Price file format (USD per million tokens; keys ``provider/model`` or ``model``)::

    {"my-model": {"input": 0.5, "output": 1.5, "cache_read": 0.05, "cache_write": 0.6}}
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_log = logging.getLogger("llm_otel")

# semconv provider name -> genai-prices provider id
_PROVIDER_IDS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure.ai.openai": "azure",
    "aws.bedrock": "aws",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "cohere": "cohere",
    "perplexity": "perplexity",
}


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    # genai-prices tiered model (price depends on prompt size): delegate above this many input tokens
    tier_start: int | None = None
    tiered_price: Any = None

    def cost(self, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> float:
        if self.tier_start is not None and input_tokens >= self.tier_start:
            return _tiered_cost(self.tiered_price, input_tokens, output_tokens, cache_read, cache_write)
        uncached = max(input_tokens - cache_read - cache_write, 0)
        return (
            uncached * self.input
            + cache_read * self.cache_read
            + cache_write * self.cache_write
            + output_tokens * self.output
        )


def _tiered_cost(model_price: Any, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> float:
    from genai_prices import Usage

    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
    return float(model_price.calc_price(usage)["total_price"])


_MISSING = object()
_cache: dict[tuple[str, str], Rates | None] = {}
_user_prices: dict[str, Rates] | None = None
_user_prices_path: str | None = None
_lock = threading.Lock()


def _per_token(value: Any) -> tuple[float, int | None, Any]:
    """A genai-prices per-MTok price -> (USD per token, first tier start or None)."""
    if value is None:
        return 0.0, None, None
    if isinstance(value, (Decimal, int, float)):
        return float(value) / 1e6, None, None
    base = getattr(value, "base", None)
    tiers = getattr(value, "tiers", None) or []
    start = min((t.start for t in tiers), default=None)
    return float(base or 0) / 1e6, start, value


def _from_genai_prices(provider: str, model: str) -> Rates | None:
    provider_id = _PROVIDER_IDS.get(provider)
    if provider_id is None:
        return None  # self-hosted or unknown provider: no public list price applies
    from genai_prices import Usage, calc_price

    try:
        calc = calc_price(Usage(input_tokens=0, output_tokens=0), model_ref=model, provider_id=provider_id)
    except LookupError:
        return None
    price = calc.model_price
    inp, t1, _ = _per_token(getattr(price, "input_mtok", None))
    out, t2, _ = _per_token(getattr(price, "output_mtok", None))
    cr, t3, _ = _per_token(getattr(price, "cache_read_mtok", None))
    cw, t4, _ = _per_token(getattr(price, "cache_write_mtok", None))
    tier_starts = [t for t in (t1, t2, t3, t4) if t is not None]
    return Rates(
        input=inp,
        output=out,
        cache_read=cr if getattr(price, "cache_read_mtok", None) is not None else inp,
        cache_write=cw if getattr(price, "cache_write_mtok", None) is not None else inp,
        tier_start=min(tier_starts) if tier_starts else None,
        tiered_price=price if tier_starts else None,
    )


def _load_user_prices(path: str | None) -> dict[str, Rates]:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
        table: dict[str, Rates] = {}
        for key, entry in raw.items():
            inp = float(entry.get("input", 0)) / 1e6
            table[str(key).lower()] = Rates(
                input=inp,
                output=float(entry.get("output", 0)) / 1e6,
                cache_read=float(entry["cache_read"]) / 1e6 if "cache_read" in entry else inp,
                cache_write=float(entry["cache_write"]) / 1e6 if "cache_write" in entry else inp,
            )
        return table
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        _log.error("price file %s could not be read (%s); using bundled prices only", path, exc)
        return {}


def rates_for(provider: str, model: str, prices_file: str | None) -> Rates | None:
    """The memoized rate table for a model, or None if it has no known price."""
    global _user_prices, _user_prices_path
    if _user_prices is None or _user_prices_path != prices_file:
        with _lock:
            _user_prices = _load_user_prices(prices_file)
            _user_prices_path = prices_file
            _cache.clear()
    key = (provider, model)
    rates = _cache.get(key, _MISSING)
    if rates is _MISSING:
        lowered = model.lower()
        rates = _user_prices.get(f"{provider}/{lowered}") or _user_prices.get(lowered)
        if rates is None:
            rates = _from_genai_prices(provider, model)
        if len(_cache) < 4096:  # bounded: model names come from responses
            _cache[key] = rates
    return rates  # type: ignore[return-value]


def clear_cache() -> None:
    global _user_prices
    with _lock:
        _cache.clear()
        _user_prices = None
