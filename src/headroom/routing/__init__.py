"""Routing: what a unit is (detect) and which compressor takes it (router).

Importing the package registers the mixed compressor, which routes the parts of a document
and so lives here, above the compressors it dispatches to.
"""

from headroom.routing import mixed as _mixed  # noqa: F401  (registers MixedCompressor)
