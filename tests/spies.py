"""Recording the calls a function gets without changing what it does."""

from __future__ import annotations

import functools
from typing import Any

import pytest


def record_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple[Any, ...]]:
    """Replace `owner.name` with a wrapper that calls the original and appends its positional
    arguments to the returned list (undone with `monkeypatch`)."""
    calls: list[tuple[Any, ...]] = []
    original = getattr(owner, name)

    @functools.wraps(original)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recorded)
    return calls
