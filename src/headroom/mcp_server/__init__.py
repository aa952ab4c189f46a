"""headroom as an MCP server: agent-controlled compression and retrieval for MCP hosts.

`headroom mcp` serves `headroom_compress`, `headroom_retrieve` and `headroom_stats` over stdio (or
streamable HTTP with ``--port``), sharing the CCR store with the proxy and the library, so a ref made
by one can be retrieved through the other.
"""

from __future__ import annotations

from headroom.mcp_server.tools import CompressOutcome, HeadroomTools, ToolInputError

__all__ = ["CompressOutcome", "HeadroomTools", "ToolInputError"]
