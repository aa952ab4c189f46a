"""Dollars: what a request cost, what it would have cost uncompressed, and the difference.

Prices come from `genai-prices` (pydantic's maintained table: input, output, cache-write and
cache-read prices per model, with tiers and price history), read from the snapshot bundled in
the package, so pricing works offline and never guesses: a model it does not know is
reported as unpriced.

The counterfactual (the request as the client built it, uncompressed) is the billed usage with
the saved tokens put back where they were billed. Without positions, the saved tokens are
spread over the billed kinds (uncached input, cache reads, cache writes) in proportion to each
kind's share of the prompt: a compressed unit in the cached prefix would have been a cache read
at full size, one in the new tail an uncached input or a cache write.

A change headroom made to bytes the provider had already cached (a "cache break", e.g. a pasted
document compressed on its second turn) makes the provider write, or read uncached, what it
would otherwise have read from the cache. Those `broken_prefix_tokens` would have been cache
reads in the counterfactual (taken from the cache writes first, then from the uncached input),
so a break can make a request's net saving negative; `NetSaving.cache_break_usd` says how much
the break cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from types import ModuleType
from typing import Protocol

__all__ = ["NetSaving", "TokenCounts", "cost_usd", "counterfactual", "input_price_per_mtok", "net_saving"]

log = logging.getLogger(__name__)

_ONE_MILLION = 1_000_000
_OPENAI_PREFIXES = ("gpt-", "chatgpt-", "o1", "o3", "o4", "codex-")


class BilledUsage(Protocol):
    """Tokens as the provider billed them (`headroom.formats.usage.Usage` is one)."""

    @property
    def input_tokens(self) -> int: ...  # uncached input only
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TokenCounts:
    input_tokens: int = 0  # uncached input
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class NetSaving:
    cost_usd: Decimal  # what the compressed request cost
    uncompressed_cost_usd: Decimal  # what the request as the client built it would have cost
    cache_break_usd: Decimal  # the part of `cost_usd` due to cached bytes headroom changed

    @property
    def saved_usd(self) -> Decimal:
        return self.uncompressed_cost_usd - self.cost_usd


def _model_name(model: str) -> str:
    return model.strip().lower().removeprefix("anthropic/").removeprefix("openai/")


def _provider(model: str, provider: str | None) -> str | None:
    if provider in ("anthropic", "openai"):
        return provider
    if model.startswith("claude"):
        return "anthropic"
    return "openai" if model.startswith(_OPENAI_PREFIXES) else None  # None: genai-prices picks the best match


@lru_cache(maxsize=1)
def _price_table() -> ModuleType:
    """genai-prices, imported on first use: its pydantic price models take ~0.5 s to import,
    which `import headroom` (every CLI command, every library user) should not pay for a
    figure only stats and the proxy's ledger need."""
    import genai_prices

    return genai_prices


def cost_usd(model: str | None, provider: str | None, usage: BilledUsage) -> Decimal | None:
    """The price of `usage` on `model` (None when genai-prices does not know the model)."""
    if not model:
        return None
    name = _model_name(model)
    try:
        prices = _price_table()
        price = prices.calc_price(
            prices.Usage(
                # genai-prices wants the whole prompt, the cache parts included.
                input_tokens=usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                output_tokens=usage.output_tokens,
            ),
            name,
            provider_id=_provider(name, provider),
        )
    except LookupError:
        return None
    except Exception as exc:  # a price-table quirk must not break the stats
        log.debug("pricing %s failed (%s: %s)", name, type(exc).__name__, exc)
        return None
    return Decimal(price.total_price)


def counterfactual(usage: BilledUsage, tokens_saved: int, broken_prefix_tokens: int = 0) -> TokenCounts:
    """The usage the uncompressed request would have been billed (see the module's docstring)."""
    uncached, read, write = usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens
    prompt = uncached + read + write
    saved = max(0, tokens_saved)
    if prompt:
        saved_read, saved_write = saved * read // prompt, saved * write // prompt
    else:
        saved_read = saved_write = 0
    saved_uncached = saved - saved_read - saved_write
    broken = max(0, broken_prefix_tokens)
    from_write = min(broken, write)
    from_uncached = min(broken - from_write, uncached)
    return TokenCounts(
        input_tokens=uncached + saved_uncached - from_uncached,
        cache_read_tokens=read + saved_read + from_write + from_uncached,
        cache_write_tokens=write + saved_write - from_write,
        output_tokens=usage.output_tokens,
    )


def net_saving(
    model: str | None,
    provider: str | None,
    usage: BilledUsage,
    tokens_saved: int,
    broken_prefix_tokens: int = 0,
) -> NetSaving | None:
    """Uncompressed cost minus actual cost of one request, cache effects included."""
    actual = cost_usd(model, provider, usage)
    if actual is None:
        return None
    uncompressed = cost_usd(model, provider, counterfactual(usage, tokens_saved, broken_prefix_tokens))
    unbroken = cost_usd(model, provider, counterfactual(usage, 0, broken_prefix_tokens))
    if uncompressed is None or unbroken is None:
        return None
    return NetSaving(actual, uncompressed, actual - unbroken)


@lru_cache(maxsize=256)
def input_price_per_mtok(model: str | None) -> float | None:
    """USD per million uncached input tokens (None when the model is unknown): values saved
    tokens when the provider's billing of the request is not known (library, CLI, MCP)."""
    price = cost_usd(model, None, TokenCounts(input_tokens=_ONE_MILLION // 1000))
    return None if price is None else float(price * 1000)
