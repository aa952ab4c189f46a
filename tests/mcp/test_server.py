"""`headroom mcp` end to end: the SDK's own `ClientSession` against a real server process, over stdio
and over streamable HTTP (every test runs on both transports)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.types import CallToolResult, TextContent

from headroom.ccr.ledger import ledger_for
from headroom.ccr.markers import find_refs
from headroom.ccr.open import open_store
from headroom.ccr.retrieval import retrieve
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import SegmentContext, content_ref
from tests.mcp.conftest import SessionFactory

pytestmark = pytest.mark.timeout(120)

NEEDLES = ["attempt_1445144423722_0020_m_000002_0", "NoRouteToHostException", "msra-sa-41:9000"]


def run(connect: tuple[SessionFactory, Path], scenario: Callable[[ClientSession], Awaitable[None]]) -> None:
    factory, _ = connect

    async def main() -> None:
        async with factory() as session:
            await scenario(session)

    anyio.run(main)


def texts(result: CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, TextContent)]


def payload(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, texts(result)
    data = json.loads(texts(result)[0])
    assert result.structured_content == data  # the JSON text and the structured result agree
    return data


async def compress(session: ClientSession, **arguments: Any) -> dict[str, Any]:
    return payload(await session.call_tool("headroom_compress", arguments))


async def retrieve_text(session: ClientSession, ref: str, **arguments: Any) -> tuple[str, str]:
    """(message, content) of a successful headroom_retrieve."""
    result = await session.call_tool("headroom_retrieve", {"ref": ref, **arguments})
    assert not result.is_error, texts(result)
    blocks = texts(result)
    return blocks[0], (blocks[1] if len(blocks) > 1 else "")


async def tool_error(session: ClientSession, name: str, arguments: dict[str, Any]) -> str:
    result = await session.call_tool(name, arguments)
    assert result.is_error, f"{name}({str(arguments)[:80]}) should be a tool error: {texts(result)}"
    return " ".join(texts(result))


def test_lists_three_tools_with_schemas(connect: tuple[SessionFactory, Path]) -> None:
    async def scenario(session: ClientSession) -> None:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {"headroom_compress", "headroom_retrieve", "headroom_stats"}
        for tool in tools.values():
            assert tool.description and len(tool.description) > 80
        compress_schema = tools["headroom_compress"].input_schema
        assert compress_schema["required"] == ["content"]
        props = compress_schema["properties"]
        assert props["content"]["type"] == "string"
        # Every kind a registered compressor takes, in ContentKind's order (derived, not a second list).
        assert props["content_type"]["enum"] == [
            "auto",
            "json",
            "code",
            "logs",
            "search",
            "diff",
            "commits",
            "diagnostics",
            "test_report",
            "prose",
            "table",
            "html",
            "xml",
            "yaml",
            "paths",
            "mixed",
            "repeats",
            "text",
        ]
        assert props["content_type"]["default"] == "auto"
        assert all(props[name].get("description") for name in ("content", "content_type", "query", "max_tokens"))
        output = tools["headroom_compress"].output_schema
        assert output is not None
        assert {"compressed", "ref", "tokens_before", "tokens_after", "compressor", "kind"} <= set(output["properties"])
        assert tools["headroom_retrieve"].input_schema["required"] == ["ref"]
        assert tools["headroom_retrieve"].annotations and tools["headroom_retrieve"].annotations.read_only_hint

    run(connect, scenario)


def test_bench_output_compresses_and_comes_back_exactly(
    connect: tuple[SessionFactory, Path], bench_tool_output: tuple[str, str]
) -> None:
    original, question = bench_tool_output

    async def scenario(session: ClientSession) -> None:
        before = (await session.call_tool("headroom_stats", {})).structured_content
        assert before is not None
        data = await compress(session, content=original, query=question)
        assert data["ref"] == content_ref(original)
        assert data["kind"] == "logs" and data["compressor"] == "logs" and data["lossy"] is True
        assert data["tokens_before"] > 80_000 and data["tokens_after"] < data["tokens_before"] // 5
        assert data["tokens_saved"] == data["tokens_before"] - data["tokens_after"]
        assert find_refs(data["compressed"]) == [data["ref"]]  # every marker points at the stored original
        for needle in NEEDLES:
            assert needle in data["compressed"]

        message, text = await retrieve_text(session, data["ref"])
        assert text == original, "the original must come back byte for byte"
        assert "full original" in message
        _, head = await retrieve_text(session, data["ref"], lines="1-3")
        assert head == "\n".join(original.split("\n")[:3])
        _, hits = await retrieve_text(session, data["ref"], query="NoRouteToHostException")
        matches = [line for line in hits.split("\n") if re.match(r"\d+:", line)]
        assert matches and all("NoRouteToHostException" in line for line in matches)

        after = (await session.call_tool("headroom_stats", {})).structured_content
        assert after is not None
        mine_before, mine_after = before["this_server"], after["this_server"]
        assert mine_after["compress_calls"] == mine_before["compress_calls"] + 1
        assert mine_after["tokens_saved"] - mine_before["tokens_saved"] == data["tokens_saved"]
        assert mine_after["retrieve_calls"] == mine_before["retrieve_calls"] + 3
        saved_before = before.get("by_source", {}).get("mcp", {}).get("tokens_saved", 0)
        assert after["by_source"]["mcp"]["tokens_saved"] - saved_before == data["tokens_saved"]
        assert after["store"]["backend"] == "sqlite" and after["store"]["items"] >= 1

    run(connect, scenario)


def test_every_ref_resolves_to_the_exact_input(connect: tuple[SessionFactory, Path]) -> None:
    small = "héllo\tworld  \r\n🙂 — 日本語\r\n\ttrailing   \n"
    spaced = "".join(f"row {i}:\tvalue={i * 3}    \r\n\n\n" for i in range(400))  # whitespace to normalize
    rows = json.dumps([{"id": i, "name": f"user{i}", "active": i % 9 != 0} for i in range(300)], indent=2)

    async def scenario(session: ClientSession) -> None:
        for content, hint in ((small, "auto"), (spaced, "text"), (rows, "json"), ("", "auto")):
            data = await compress(session, content=content, content_type=hint)
            assert data["ref"] == content_ref(content)
            assert data["tokens_after"] <= data["tokens_before"]
            _, text = await retrieve_text(session, data["ref"])
            assert text == content
        assert (await compress(session, content=small))["compressed"] == small  # tiny input: unchanged

    run(connect, scenario)


def test_bad_input_is_a_tool_error_and_the_server_lives_on(connect: tuple[SessionFactory, Path]) -> None:
    huge = ("0123456789abcdef" * 64 + "\n") * 20_000  # ~20 MB

    async def scenario(session: ClientSession) -> None:
        assert "valid string" in await tool_error(session, "headroom_compress", {"content": 123})
        assert "valid string" in await tool_error(session, "headroom_compress", {"content": {"a": 1}})
        assert "content" in await tool_error(session, "headroom_compress", {})
        message = await tool_error(session, "headroom_compress", {"content": huge})
        assert "20,500,000 characters" in message and "limit" in message
        message = await tool_error(session, "headroom_compress", {"content": "x", "content_type": "toml"})
        assert "unknown content_type 'toml'" in message and "auto, json, code" in message
        await tool_error(session, "headroom_compress", {"content": "x", "max_tokens": 0})
        message = await tool_error(session, "headroom_retrieve", {"ref": "h_000000000000"})
        assert "not found" in message
        assert "not a headroom ref" in await tool_error(session, "headroom_retrieve", {"ref": "../../etc/passwd"})
        await tool_error(session, "headroom_retrieve", {"ref": ""})
        await tool_error(session, "headroom_retrieve", {"ref": 42})
        await tool_error(session, "headroom_nonexistent", {})
        # ... and the same session still works.
        data = await compress(session, content="still alive " * 200)
        _, text = await retrieve_text(session, data["ref"])
        assert text == "still alive " * 200
        stats = (await session.call_tool("headroom_stats", {})).structured_content
        assert stats is not None and stats["this_server"]["rejected_calls"] >= 2  # ours; schema errors stop in the SDK

    run(connect, scenario)


def test_twenty_concurrent_calls(connect: tuple[SessionFactory, Path]) -> None:
    logs = [
        "".join(
            f"2024-05-0{k % 9 + 1} 10:{i // 60:02d}:{i % 60:02d},{i:03d} INFO worker-{k} step {i} ok\n"
            for i in range(300)
        )
        + f"2024-05-0{k % 9 + 1} 11:00:00,000 ERROR worker-{k} failed: disk quota exceeded on /data/{k}\n"
        for k in range(20)
    ]

    async def scenario(session: ClientSession) -> None:
        results: dict[int, dict[str, Any]] = {}
        errors: list[str] = []

        async def one(k: int) -> None:
            data = await compress(session, content=logs[k], query="which worker failed?")
            _, text = await retrieve_text(session, data["ref"])
            assert text == logs[k]
            results[k] = data

        async def bad() -> None:
            errors.append(await tool_error(session, "headroom_compress", {"content": ["not", "text"]}))

        async with anyio.create_task_group() as group:
            for k in range(20):
                group.start_soon(one, k)
            for _ in range(3):
                group.start_soon(bad)
        assert sorted(results) == list(range(20)) and len(errors) == 3
        for k, data in results.items():
            assert f"disk quota exceeded on /data/{k}" in data["compressed"]
            assert data["tokens_after"] < data["tokens_before"]
        assert len({data["ref"] for data in results.values()}) == 20
        stats = (await session.call_tool("headroom_stats", {})).structured_content
        assert stats is not None and stats["this_server"]["compress_calls"] >= 20

    run(connect, scenario)


def test_refs_and_savings_are_shared_with_other_processes(connect: tuple[SessionFactory, Path]) -> None:
    """The server shares the store with the proxy / library: refs cross over both ways, and the
    proxy's ledger entries show up in headroom_stats."""
    _, store_path = connect
    store = open_store(str(store_path))
    pipeline = Pipeline(CompressConfig(), store)
    log = "".join(f"2024-05-01 10:{i // 60:02d}:{i % 60:02d},000 INFO sync step {i} ok\n" for i in range(600))
    log += "2024-05-01 11:00:00,000 ERROR sync failed: quota exceeded for bucket b-77\n"
    compressed, report = pipeline.compress_text(log, SegmentContext(user_query="why did sync fail?"))
    assert report.ref is not None and compressed != log  # lossy: the library stored the original
    ledger_for(store).record("proxy", 5_000, 1_000)

    async def scenario(session: ClientSession) -> None:
        _, text = await retrieve_text(session, report.ref)  # made by the library, read through MCP
        assert text == log
        _, hit = await retrieve_text(session, report.ref, query="quota")
        assert "601:" + log.split("\n")[600] in hit.split("\n")
        made_here = await compress(session, content="some notes from the agent\n" * 100)
        fetched = retrieve(store, made_here["ref"])  # made through MCP, read by the library
        assert fetched.found and fetched.text == "some notes from the agent\n" * 100
        stats = (await session.call_tool("headroom_stats", {})).structured_content
        assert stats is not None
        assert stats["by_source"]["proxy"]["tokens_saved"] >= 4_000
        assert stats["all_sources"]["tokens_saved"] >= stats["by_source"]["proxy"]["tokens_saved"]

    try:
        run(connect, scenario)
    finally:
        store.close()
