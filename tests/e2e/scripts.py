"""What the "model" does in the end-to-end sessions, and how to read the requests it got.

Each script is stateless: the step is the number of tool results already in the conversation,
so a retried request gets the same answer. Turn 1 reads the large log with the agent's real
tool, turn 2 greps the codebase, turn 3 reads most of the log again with an explicit line range
(a log is never edited, so that read is compressed too, as agents page through logs), turn 4
answers with text naming every error code the model could see in the first read (the test
checks the agent printed them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from tests.e2e.agent_upstream import Call, Turn
from tests.e2e.workspace import ERROR_LINES, GREP_PATTERN, HANDLERS, Workspace

__all__ = [
    "FINAL_PREFIX",
    "RANGED_LINES",
    "ClaudeScript",
    "CodexScript",
    "anthropic_tool_results",
    "expected_final",
    "main_requests",
    "responses_tool_results",
    "tool_result_texts",
]

FINAL_PREFIX = "HEADROOM-E2E-FINAL"
RANGED_LINES = 400  # most of the log, by line range
_ERROR_CODE = re.compile(r"\bERROR\b.*?\b(E\d{4}|9f1c2e7a|RF-\d+|CRT-\d+)\b")


def expected_final() -> str:
    """The final answer when the model saw every error line and every handler."""
    return _final("\n".join(ERROR_LINES), "\n".join(f"def {name}(" for name in HANDLERS))


def _final(log_seen: str, grep_seen: str) -> str:
    codes = sorted(set(_ERROR_CODE.findall(log_seen)))
    handlers = sorted(set(re.findall(r"def (handle_\w+)", grep_seen)))
    return f"{FINAL_PREFIX}: errors {', '.join(codes) or 'none'}; handlers {', '.join(handlers) or 'none'}."


# -- Anthropic (Claude Code) ----------------------------------------------------------------------


def anthropic_tool_results(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(tool_use_id, text) of every tool result in the request, in order."""
    out: list[tuple[str, str]] = []
    for message in request.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, list):
                    inner = "\n".join(p.get("text", "") for p in inner if isinstance(p, dict))
                out.append((str(block.get("tool_use_id")), inner if isinstance(inner, str) else ""))
    return out


def _anthropic_tools(request: dict[str, Any]) -> set[str]:
    return {str(t.get("name")) for t in request.get("tools") or () if isinstance(t, dict)}


@dataclass
class ClaudeScript:
    workspace: Workspace

    def __call__(self, api: str, request: dict[str, Any]) -> Turn:
        if "Read" not in _anthropic_tools(request):
            return Turn(text="ok")  # a side request (title, summary): not the agent loop
        results = [text for _, text in anthropic_tool_results(request)]
        if not results:
            return Turn("Reading the log.", (Call("Read", {"file_path": str(self.workspace.log)}),))
        if len(results) == 1:
            grep = {"pattern": GREP_PATTERN, "path": str(self.workspace.code), "output_mode": "content", "-n": True}
            return Turn("Now the handlers.", (Call("Grep", grep),))
        if len(results) == 2:
            ranged = {"file_path": str(self.workspace.log), "offset": 1, "limit": RANGED_LINES}
            return Turn("Once more, by line range.", (Call("Read", ranged),))
        return Turn(_final(results[0], results[1]))


# -- OpenAI Responses (Codex) ---------------------------------------------------------------------

_OUTPUTS = ("function_call_output", "custom_tool_call_output")


def responses_tool_results(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(call_id, text) of every tool output in the request's input, in order."""
    out: list[tuple[str, str]] = []
    for item in request.get("input") or ():
        if isinstance(item, dict) and item.get("type") in _OUTPUTS:
            output = item.get("output")
            if isinstance(output, list):
                output = "\n".join(p.get("text", "") for p in output if isinstance(p, dict))
            out.append((str(item.get("call_id")), output if isinstance(output, str) else ""))
    return out


def _responses_tools(request: dict[str, Any]) -> Iterator[str]:
    """Tool names, top-level or inside Codex's `additional_tools` input item (namespaces)."""

    def walk(tools: Any) -> Iterator[str]:
        for tool in tools or ():
            if isinstance(tool, dict):
                yield str(tool.get("name"))
                yield from walk(tool.get("tools"))

    yield from walk(request.get("tools"))
    for item in request.get("input") or ():
        if isinstance(item, dict) and item.get("type") == "additional_tools":
            yield from walk(item.get("tools"))


@dataclass
class CodexScript:
    """Codex 0.169 offers `exec_command` as a function for most models; for its default model it
    offers only `exec` (code mode: JavaScript that calls `tools.exec_command`)."""

    workspace: Workspace

    def _command(self, tools: set[str], cmd: str) -> Call:
        args = {"cmd": cmd, "workdir": str(self.workspace.root), "max_output_tokens": 30000}
        if "exec_command" in tools:
            return Call("exec_command", args)
        # The pragma lifts exec's own 10k-token cap on what the script returns.
        source = (
            '// @exec: {"max_output_tokens": 30000}\n'
            f"const r = await tools.exec_command({orjson.dumps(args).decode()});\ntext(r.output);\n"
        )
        return Call("exec", input=source, custom=True)

    def __call__(self, api: str, request: dict[str, Any]) -> Turn:
        tools = set(_responses_tools(request))
        if not {"exec_command", "exec"} & tools:
            return Turn(text="ok")
        results = [text for _, text in responses_tool_results(request)]
        if not results:
            return Turn(calls=(self._command(tools, f"cat {self.workspace.log.name}"),))
        if len(results) == 1:
            return Turn(calls=(self._command(tools, f"grep -rn '{GREP_PATTERN}' src"),))
        if len(results) == 2:
            return Turn(calls=(self._command(tools, f"sed -n '1,{RANGED_LINES}p' {self.workspace.log.name}"),))
        return Turn(_final(results[0], results[1]))


def main_requests(bodies: list[dict[str, Any]], api: str) -> list[dict[str, Any]]:
    """The agent loop's requests (the ones offering the agent's tools), in order."""
    if api == "anthropic":
        return [b for b in bodies if "Read" in _anthropic_tools(b)]
    return [b for b in bodies if {"exec_command", "exec"} & set(_responses_tools(b))]


def tool_result_texts(request: dict[str, Any], api: str) -> list[str]:
    results = anthropic_tool_results(request) if api == "anthropic" else responses_tool_results(request)
    return [text for _, text in results]
