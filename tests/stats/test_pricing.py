"""Net dollars against hand-computed cases. Prices are genai-prices' bundled table for
claude-sonnet-4-0 ($3 input, $3.75 cache write, $0.30 cache read, $15 output per million) and
gpt-4o ($2.50 input, $1.25 cached, $10 output)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from headroom.pricing import TokenCounts, cost_usd, counterfactual, input_price_per_mtok, net_saving

SONNET = "claude-sonnet-4-20250514"


def test_price_table_is_genai_prices_and_offline() -> None:
    assert input_price_per_mtok("claude-sonnet-4-5-20250929") == 3.0
    assert input_price_per_mtok("claude-opus-4-1") == 15.0
    assert input_price_per_mtok("gpt-4o-mini-2024-07-18") == 0.15
    assert input_price_per_mtok("llama3:70b") is None  # unknown: unpriced, never guessed
    # 1000 uncached + 9000 cache reads + 100 output = 0.003 + 0.0027 + 0.0015
    assert cost_usd(SONNET, "anthropic", TokenCounts(1000, 9000, 0, 100)) == Decimal("0.0072")


def test_cache_hit() -> None:
    """A hit: 90% of the prompt read from the cache. The 5000 saved tokens would have been read
    from the cache (4500) or sent uncached (500) in the same shares."""
    usage = TokenCounts(input_tokens=1000, cache_read_tokens=9000, cache_write_tokens=0, output_tokens=100)
    assert counterfactual(usage, 5000) == TokenCounts(1500, 13500, 0, 100)
    saving = net_saving(SONNET, "anthropic", usage, 5000)
    assert saving is not None
    # uncompressed: 1500*3 + 13500*0.3 + 100*15 = 4500 + 4050 + 1500 = 10050 micro-dollars
    assert saving.uncompressed_cost_usd == Decimal("0.01005")
    assert saving.cost_usd == Decimal("0.0072")
    assert saving.saved_usd == Decimal("0.00285")
    assert saving.cache_break_usd == 0


def test_cache_miss() -> None:
    """A miss (first turn): everything written to the cache, so would the saved tokens have been."""
    usage = TokenCounts(input_tokens=0, cache_read_tokens=0, cache_write_tokens=10_000, output_tokens=100)
    saving = net_saving(SONNET, "anthropic", usage, 5000)
    assert saving is not None
    # actual 10000*3.75 + 1500 = 39000; uncompressed 15000*3.75 + 1500 = 57750 (micro-dollars)
    assert saving.cost_usd == Decimal("0.039")
    assert saving.uncompressed_cost_usd == Decimal("0.05775")
    assert saving.saved_usd == Decimal("0.01875")


def test_cache_miss_caused_by_a_change() -> None:
    """headroom changed 8000 tokens the provider had cached: written at $3.75 instead of read at
    $0.30. The net saving is negative and the break's cost is reported."""
    usage = TokenCounts(input_tokens=1000, cache_read_tokens=0, cache_write_tokens=9000, output_tokens=100)
    assert counterfactual(usage, 5000, broken_prefix_tokens=8000) == TokenCounts(1500, 8000, 5500, 100)
    saving = net_saving(SONNET, "anthropic", usage, 5000, broken_prefix_tokens=8000)
    assert saving is not None
    # actual: 1000*3 + 9000*3.75 + 1500 = 38250
    assert saving.cost_usd == Decimal("0.03825")
    # uncompressed, unbroken: 1500*3 + 8000*0.3 + 5500*3.75 + 1500 = 4500 + 2400 + 20625 + 1500 = 29025
    assert saving.uncompressed_cost_usd == Decimal("0.029025")
    assert saving.saved_usd == Decimal("-0.009225")
    # without the break: 1000*3 + 8000*0.3 + 1000*3.75 + 1500 = 10650; the break cost 38250 - 10650
    assert saving.cache_break_usd == Decimal("0.0276")


def test_openai_automatic_cache_break_comes_from_uncached_input() -> None:
    """OpenAI has no cache writes: a broken prefix shows as uncached input instead of cached."""
    usage = TokenCounts(input_tokens=6000, cache_read_tokens=4000, cache_write_tokens=0, output_tokens=0)
    assert counterfactual(usage, 0, broken_prefix_tokens=5000) == TokenCounts(1000, 9000, 0, 0)
    saving = net_saving("gpt-4o", "openai", usage, 0, broken_prefix_tokens=5000)
    assert saving is not None
    # actual 6000*2.5 + 4000*1.25 = 20000; unbroken 1000*2.5 + 9000*1.25 = 13750
    assert saving.cost_usd == Decimal("0.02")
    assert saving.cache_break_usd == Decimal("0.00625")
    assert saving.saved_usd == Decimal("-0.00625")


@pytest.mark.parametrize("model", [None, "", "my-local-llama"])
def test_unknown_model_is_unpriced(model: str | None) -> None:
    assert net_saving(model, "openai", TokenCounts(100, 0, 0, 10), 50) is None
