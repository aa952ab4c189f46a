"""Getting originals back: `retrieve()`, the `headroom_retrieve` tool and its executor.

A model that sees ``[headroom: 180 rows omitted · ref=h_3f9a1c2b0d4e]`` calls `headroom_retrieve`
with that ref, optionally narrowed by `query` (matching JSON rows or text lines) or `lines`
(a line range). Nothing here raises: an unknown ref, a bad argument or a store outage becomes
a `RetrievalResult` with ``found=False`` and a message the model can act on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from headroom.ccr._select import (
    Selection,
    find_json_rows,
    parse_line_range,
    query_terms,
    select_lines,
    select_rows,
)
from headroom.ccr.base import OriginalStore
from headroom.envelopes import numbering_shift
from headroom.line_numbers import split_line_numbers
from headroom.segments import ref_matches

__all__ = [
    "TOOL_DESCRIPTION",
    "TOOL_NAME",
    "RetrievalResult",
    "execute_retrieve_call",
    "retrieve",
    "tool_parameters",
]

TOOL_NAME = "headroom_retrieve"
_REF = re.compile(r"^h_[0-9a-f]{6,64}$")
# Sent with every request (tools come first in the prompt: added later it would break the
# cached prefix), so every token of it is paid on every turn; the parameters' own descriptions
# stay short because this one explains them.
TOOL_DESCRIPTION = (
    "Get back what headroom left out of an earlier tool output. Omissions are marked in place, e.g. "
    "[headroom: 180 rows omitted · ref=h_3f9a1c2b0d4e]; a marker without a ref ([headroom: body lines "
    "47-56]) has the ref of the nearest marker above it. The ref alone returns the whole original; "
    "`query` only the JSON rows or numbered text lines holding all its words (else any of them); "
    "`lines` a line range such as '120-164'."
)


@dataclass(frozen=True, slots=True)
class RetrievalResult:
    found: bool  # the ref resolved to a stored original
    ref: str
    text: str  # the original, or the requested slice of it
    message: str  # what `text` is (or why there is none), for people and models

    def render(self) -> str:
        """The tool result a model sees: the message line, then the content."""
        return f"{self.message}\n{self.text}" if self.text else self.message


def _normalize_ref(ref: object) -> str:
    # Models sometimes echo the marker's "ref=...]" spelling or add quotes.
    text = str(ref or "").strip().strip("\"'`[]").strip()
    return text.removeprefix("ref=").strip().lower()


def _describe(sel: Selection, unit: str, query: str, ref: str) -> str:
    if sel.mode == "all":
        return f"{ref}: {sel.matched} of {sel.total} {unit} match all of {query!r}"
    if sel.mode == "any":
        return (
            f"{ref}: no {unit[:-1]} matches all of {query!r}; "
            f"{sel.matched} of {sel.total} {unit} match at least one term"
        )
    return f"{ref}: no {unit} of {sel.total} match {query!r}; call again without query for the whole original"


def _numbering_shift(original: str, lines: list[str]) -> int:
    """How far the line numbers shown in a numbered file read are from plain line counting."""
    shift = numbering_shift(original)  # whole numbered reads inside a tool's envelope
    if shift:
        return shift
    numbered = split_line_numbers(lines)  # numbered reads with a short unnumbered frame
    return numbered.first_number - 1 if numbered is not None else 0


def _as_text(value: object) -> str:
    """A query or line range as text, whatever a caller or a model passed: `lines=7` is "7",
    `query=["a", "b"]` is "a b"; other shapes become their text (a bad range is then reported)."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return " ".join(_as_text(v) for v in value).strip()
    return str(value).strip()


def retrieve(store: OriginalStore, ref: str, query: str | None = None, lines: str | None = None) -> RetrievalResult:
    """The original stored under `ref`: whole, a line range (`lines="120-164"`), or the JSON rows /
    text lines matching `query`. With both, the query searches within the line range."""
    ref = _normalize_ref(ref)
    if not _REF.match(ref):
        return RetrievalResult(False, ref, "", f"{ref!r} is not a headroom ref (refs look like h_3f9a1c2b0d4e)")
    try:
        stored = store.get(ref)
    except Exception as exc:  # StoreError, or anything a backend let through: report, never crash
        return RetrievalResult(False, ref, "", f"ref {ref} could not be read: CCR store unavailable ({exc})")
    if stored is None:
        return RetrievalResult(False, ref, "", f"ref {ref} not found (expired or never stored)")
    if not ref_matches(ref, stored.text):  # a rotten blob, or content swapped under the ref
        return RetrievalResult(False, ref, "", f"ref {ref}: the stored original is not the content of this ref")

    original = stored.text
    query = _as_text(query)
    terms = query_terms(query)
    if isinstance(lines, (list, tuple)) and len(lines) == 2:  # [120, 164]
        lines = f"{_as_text(lines[0])}-{_as_text(lines[1])}"
    lines_spec = _as_text(lines)

    if lines_spec:
        all_lines = original.split("\n")
        # A numbered file read (`cat -n` of lines 100-180) is addressed by the numbers it shows,
        # which are the numbers the markers cite.
        shift = _numbering_shift(original, all_lines)
        last_number = len(all_lines) + shift
        bounds = parse_line_range(lines_spec, last_number)
        if bounds is None:
            return RetrievalResult(True, ref, "", f"{ref}: cannot read lines={lines_spec!r}; use e.g. '120-164'")
        first, last = max(1 + shift, bounds[0]), min(last_number, bounds[1])
        if first > last:
            span = f"{1 + shift}-{last_number}"
            return RetrievalResult(True, ref, "", f"{ref}: lines {lines_spec} are outside the original (lines {span})")
        chunk = all_lines[first - 1 - shift : last - shift]
        if not terms:
            head = f"{ref}: lines {first}-{last} of {last_number}"
            return RetrievalResult(True, ref, "\n".join(chunk), head)
        sel = select_lines(chunk, first, terms)
        return RetrievalResult(True, ref, sel.text, _describe(sel, "lines", query, ref) + f" (in {first}-{last})")

    if terms:
        rows = find_json_rows(original)
        if rows is not None:
            sel = select_rows(rows, terms)
            return RetrievalResult(True, ref, sel.text if sel.matched else "", _describe(sel, "rows", query, ref))
        sel = select_lines(original.split("\n"), 1, terms)
        return RetrievalResult(True, ref, sel.text, _describe(sel, "lines", query, ref))

    count = original.count("\n") + 1
    return RetrievalResult(True, ref, original, f"{ref}: full original ({count} lines, {len(original)} chars)")


# -- tool definitions ----------------------------------------------------------------------------


def tool_parameters() -> dict[str, Any]:
    """JSON schema of the tool's arguments (shared by every format; each wire format spells the
    tool definition its own way: `headroom.formats.FORMATS[name].retrieval_tool()`)."""
    return {
        "type": "object",
        "properties": {
            "ref": {"type": "string", "description": "h_... from a marker"},
            "query": {"type": "string", "description": "optional words to look for"},
            "lines": {"type": "string", "description": "optional 1-based line range, e.g. '120-164'"},
        },
        "required": ["ref"],
        "additionalProperties": False,
    }


def _argument(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:  # lines given as [120, 164]
        return f"{value[0]}-{value[1]}"
    return str(value)


def execute_retrieve_call(store: OriginalStore, arguments: dict[str, Any] | str | None) -> str:
    """Run one `headroom_retrieve` call (arguments as the model sent them: a JSON string for
    OpenAI, a dict for Anthropic) and return the tool-result text for the model."""
    if isinstance(arguments, (str, bytes)):
        try:
            arguments = json.loads(arguments or "{}")
        except ValueError:
            return f'{TOOL_NAME}: arguments are not valid JSON; send {{"ref": "h_..."}}'
    if not isinstance(arguments, dict) or not arguments.get("ref"):
        return f"{TOOL_NAME}: missing 'ref' (the h_... id from a [headroom: ...] marker)"
    result = retrieve(
        store, str(arguments["ref"]), query=_argument(arguments.get("query")), lines=_argument(arguments.get("lines"))
    )
    return result.render()
