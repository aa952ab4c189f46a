"""The MCP server: `headroom_compress`, `headroom_retrieve` and `headroom_stats` on the official SDK.

`build_server(tools)` registers the tools on an `MCPServer`; `run_stdio` and `run_http` serve it.
The SDK validates arguments against the schemas below (a non-string `content` is an ``isError``
result before our code runs), runs the sync tool functions on worker threads (so concurrent calls
do not block each other), and turns `ToolError` into an ``isError`` result with our message.
"""

from __future__ import annotations

import sys
import threading
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from headroom import __version__
from headroom.mcp_server.tools import CONTENT_TYPES, HeadroomTools, ToolInputError

__all__ = ["HTTP_PATH", "MAX_HTTP_BODY_BYTES", "build_server", "run_http", "run_stdio"]

HTTP_PATH = "/mcp"
# Room for the largest content headroom_compress accepts (4M chars, JSON-escaped), so an oversize
# call reaches the tool and gets a clear error instead of a bare HTTP 413.
MAX_HTTP_BODY_BYTES = 64 << 20


_INSTRUCTIONS = (
    "headroom shrinks large content (tool outputs, logs, JSON API responses, search hits, source files, diffs) "
    "so it costs far fewer context tokens, and keeps every original retrievable. Call headroom_compress on a "
    "long text you want to keep in context, use its `compressed` text instead of the original, and keep the "
    "`ref`. Wherever the compressed text says [headroom: ... · ref=h_...], something was omitted: call "
    "headroom_retrieve with that ref (optionally a query or a line range) to get it back exactly. A marker "
    "without a ref ([headroom: body lines 47-56]) has the ref of the nearest marker above it."
)

_COMPRESS_DESCRIPTION = (
    "Compress a long text (a tool output, log, JSON document, search results, source file, diff or document) "
    "so it uses far fewer tokens, keeping what matters for the question. Returns a JSON object: `compressed` "
    "(the text to use in place of the original), `ref` (the id of the stored original: headroom_retrieve(ref) "
    "gives the input back byte for byte), `tokens_before`, `tokens_after`, `compressor`, `kind`, `lossy`, "
    "`over_budget` and `notes`. Omitted parts are marked in place like "
    "[headroom: 180 rows omitted · ref=h_3f9a1c2b0d4e]. Passing the question as `query` keeps the matching "
    "rows/lines visible. Compression is deterministic; small inputs (under ~250 tokens) come back unchanged."
)

_RETRIEVE_DESCRIPTION = (
    "Get back content that headroom omitted or compressed. Call with the ref from a "
    "[headroom: ... · ref=h_3f9a1c2b0d4e] marker or from headroom_compress. With no other argument it returns "
    "the complete original exactly; `query` returns only the JSON rows (or text lines, numbered) containing all "
    "the given words (falling back to any of them); `lines` returns a 1-based line range such as '120-164'. "
    "The first content block says what was returned; the second is the content itself."
)

_STATS_DESCRIPTION = (
    "Token savings so far: this server's calls since it started, and the persistent totals per source "
    "('mcp', 'proxy', ...) of every headroom process sharing this CCR store, plus the store's size."
)


class CompressResult(BaseModel):
    compressed: str = Field(description="The compressed text, to use in place of the original.")
    ref: str | None = Field(
        description="Id of the stored original (headroom_retrieve gives it back byte for byte); "
        "null only if the store is unavailable, in which case `compressed` is lossless."
    )
    tokens_before: int = Field(description="Tokens of the input (o200k_base).")
    tokens_after: int = Field(description="Tokens of `compressed`.")
    tokens_saved: int
    savings_percent: float
    compressor: str = Field(description="Which compressor produced the text ('passthrough' if unchanged).")
    kind: str = Field(description="The content kind used: json, code, logs, search, diff, prose, text, ...")
    lossy: bool = Field(description="True when parts were omitted; markers in `compressed` point at `ref`.")
    over_budget: bool = Field(description="True when max_tokens was given and the result is still larger.")
    notes: list[str] = Field(description="Diagnostics: why content was left alone, budget warnings, ...")


def _error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def build_server(tools: HeadroomTools) -> MCPServer:
    """An MCPServer with the three headroom tools bound to `tools`."""
    server: MCPServer = MCPServer(
        "headroom",
        title="headroom context compressor",
        instructions=_INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    def headroom_compress(
        content: Annotated[str, Field(description="The text to compress, e.g. a whole tool output.")],
        content_type: Annotated[
            str,
            Field(
                description="What the content is; 'auto' detects it. Other values force that compressor.",
                json_schema_extra={"enum": list(CONTENT_TYPES)},
            ),
        ] = "auto",
        query: Annotated[
            str | None,
            Field(description="The question you want answered from this content; its terms keep matching parts."),
        ] = None,
        max_tokens: Annotated[
            int | None,
            Field(ge=1, description="Optional token budget; if the result is larger, over_budget is set (no cut)."),
        ] = None,
    ) -> CompressResult:
        try:
            outcome = tools.compress(content, content_type, query, max_tokens)
        except ToolInputError as exc:
            raise ToolError(str(exc)) from exc
        return CompressResult(**outcome.as_dict())

    def headroom_retrieve(
        ref: Annotated[str, Field(description="The ref, e.g. h_3f9a1c2b0d4e (from a marker or headroom_compress).")],
        query: Annotated[
            str | None, Field(description="Optional words; returns only the JSON rows or text lines matching them.")
        ] = None,
        lines: Annotated[str | None, Field(description="Optional 1-based line range, e.g. '120-164'.")] = None,
    ) -> CallToolResult:
        try:
            result = tools.retrieve(ref, query, lines)
        except ToolInputError as exc:
            return _error(str(exc))
        if not result.found:
            return _error(result.message)
        # The content in a block of its own, so it is exactly the stored original (or slice).
        blocks: list[ContentBlock] = [TextContent(type="text", text=result.message)]
        if result.text:
            blocks.append(TextContent(type="text", text=result.text))
        return CallToolResult(content=blocks)

    def headroom_stats() -> dict[str, Any]:
        return tools.stats()

    server.add_tool(
        headroom_compress,
        description=_COMPRESS_DESCRIPTION,
        title="Compress content",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True),
    )
    server.add_tool(
        headroom_retrieve,
        description=_RETRIEVE_DESCRIPTION,
        title="Retrieve an original",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True),
    )
    server.add_tool(
        headroom_stats,
        description=_STATS_DESCRIPTION,
        title="Savings so far",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True),
    )
    return server


def _warm_up_in_background(tools: HeadroomTools) -> None:
    # The handshake need not wait for the tokenizer; the first compress call waits if it must.
    threading.Thread(target=tools.warm_up, name="headroom-warm-up", daemon=True).start()


def run_stdio(tools: HeadroomTools) -> None:
    """Serve on stdin/stdout until the client closes the pipe (what `claude mcp add` runs)."""
    server = build_server(tools)
    _warm_up_in_background(tools)
    anyio.run(server.run_stdio_async)


def run_http(tools: HeadroomTools, host: str = "127.0.0.1", port: int = 3333) -> None:
    """Serve streamable HTTP at http://host:port/mcp until interrupted."""
    server = build_server(tools)
    _warm_up_in_background(tools)
    print(
        f"headroom mcp: streamable HTTP on http://{f'[{host}]' if ':' in host else host}:{port}{HTTP_PATH}",
        file=sys.stderr,
        flush=True,
    )

    async def serve() -> None:
        await server.run_streamable_http_async(
            host=host, port=port, streamable_http_path=HTTP_PATH, max_request_body_size=MAX_HTTP_BODY_BYTES
        )

    anyio.run(serve)
