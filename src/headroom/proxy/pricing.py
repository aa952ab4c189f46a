"""List prices of input tokens, for the `$ saved` estimate in /stats.

USD per million uncached input tokens, matched by the longest model-name prefix. Saved tokens
are valued at this price; some of them would have been cache reads (cheaper), so the figure is
an upper bound, and /stats says so. Unknown models are reported as unpriced, never guessed.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["INPUT_PRICE_PER_MTOK", "input_price_per_mtok"]

INPUT_PRICE_PER_MTOK: dict[str, float] = {
    # Anthropic
    "claude-opus-4-5": 5.0,
    "claude-opus-4": 15.0,
    "claude-3-opus": 15.0,
    "claude-sonnet-4": 3.0,
    "claude-3-7-sonnet": 3.0,
    "claude-3-5-sonnet": 3.0,
    "claude-haiku-4": 1.0,
    "claude-3-5-haiku": 0.8,
    "claude-3-haiku": 0.25,
    # OpenAI
    "gpt-5-nano": 0.05,
    "gpt-5-mini": 0.25,
    "gpt-5": 1.25,
    "gpt-4.1-nano": 0.1,
    "gpt-4.1-mini": 0.4,
    "gpt-4.1": 2.0,
    "gpt-4o-mini": 0.15,
    "gpt-4o": 2.5,
    "o4-mini": 1.1,
    "o3-mini": 1.1,
    "o3": 2.0,
    "o1": 15.0,
}
_BY_LENGTH = sorted(INPUT_PRICE_PER_MTOK, key=len, reverse=True)


@lru_cache(maxsize=256)
def input_price_per_mtok(model: str | None) -> float | None:
    name = (model or "").lower().removeprefix("anthropic/").removeprefix("openai/")
    for prefix in _BY_LENGTH:
        if name.startswith(prefix):
            return INPUT_PRICE_PER_MTOK[prefix]
    return None
