"""headroom: a context compressor for LLM agents.

from headroom import compress
compressed = compress(messages)          # OpenAI chat, Responses input or Anthropic messages
client.chat.completions.create(model="gpt-4o", messages=compressed)
print(compressed.stats)
"""

from __future__ import annotations

from headroom.api import compress, compress_request, provenance, retrieve, share
from headroom.ccr.retrieval import RetrievalResult
from headroom.ccr.sharing import Provenance, SharedUnit
from headroom.compressors.base import Compressed, Compressor
from headroom.errors import AdapterError, CompressorError, HeadroomError, StoreError
from headroom.pipeline import CompressConfig, Pipeline
from headroom.results import CompressedRequest, CompressResult, CompressStats, TransformStats, UnitReport
from headroom.segments import ContentKind, Segment, SegmentContext

__version__ = "0.1.0"

__all__ = [
    "AdapterError",
    "CompressConfig",
    "CompressResult",
    "CompressStats",
    "Compressed",
    "CompressedRequest",
    "Compressor",
    "CompressorError",
    "ContentKind",
    "HeadroomError",
    "Pipeline",
    "Provenance",
    "RetrievalResult",
    "Segment",
    "SegmentContext",
    "SharedUnit",
    "StoreError",
    "TransformStats",
    "UnitReport",
    "__version__",
    "compress",
    "compress_request",
    "provenance",
    "retrieve",
    "share",
]
