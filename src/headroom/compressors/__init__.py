"""Compressors: one content type per module, all behind `compressors.base.Compressor`."""

from __future__ import annotations

import importlib
import logging
from functools import cache

log = logging.getLogger(__name__)

# Modules that register a compressor on import. Optional-dependency modules import their
# heavy dependency lazily, so listing them here keeps `import headroom` fast.
_BUILTIN_MODULES = (
    "headroom.compressors.passthrough",
    "headroom.compressors.json_data",
    "headroom.compressors.json_page",
    "headroom.compressors.logs",
    "headroom.compressors.table",
    "headroom.compressors.paths",
    "headroom.compressors.search",
    "headroom.compressors.diff",
    "headroom.compressors.source_code",
    "headroom.compressors.prose",
)


@cache
def load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the module exists but a dependency of it is missing
                raise
            log.debug("compressor module %s not present", module)
