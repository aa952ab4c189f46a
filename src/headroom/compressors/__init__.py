"""Compressors: one content type per module, all behind `compressors.base.Compressor`.

Importing the package imports every built-in compressor module, and each registers its class
(`@register`); a `compressors.base.Registry` then builds them with a pipeline's options. Their
heavy dependencies (tree-sitter grammars, the prose model) load on first use, not here. A new
compressor is one module with a `@register`ed class, and one line below.
"""

from headroom.compressors import (  # noqa: F401  (each module registers its compressor)
    commits,
    diagnostics,
    diff,
    html,
    json_data,
    json_page,
    logs,
    passthrough,
    paths,
    prose,
    repeats,
    search,
    source_code,
    table,
    test_report,
    xml,
    yaml_data,
)
