"""Outline planning for the code compressor: which line ranges of a parsed file to elide.

The planner walks a tree-sitter tree and produces `Edit`s: runs of whole lines to drop, each
replaced by one marker line written so the file stays syntactically valid (a `...` statement
with a comment in Python bodies, or a marker line closing the docstring when the body's code
goes with the docstring's tail; a comment in braced bodies / import runs / literal tables,
plain text inside a docstring or block comment). A long run of plain `NAME = value` members in
a Python class the task does not name (an enum's) folds like a literal table, its marker naming
every folded member. Everything it does not touch is kept verbatim: signatures, decorators,
short runs of class-level attributes, module constants, `__all__`, type definitions,
the first line of each comment block, and the bodies `plan_outline(kept=...)` names
(`collect_symbols` lists the candidates) with the comment block right above them (a named
Python class keeps its code; only its docstrings are trimmed).
Markers are written without the ref; `_place_refs` puts it on the first one and then on one
every `REF_EVERY_CHARS` characters of output.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from headroom.ccr.markers import REF_EVERY_CHARS, marker

__all__ = ["SPECS", "Edit", "LangSpec", "Symbol", "collect_symbols", "name_of", "plan_outline"]

# Tuning (measured on the codebase_exploration bench cases, see the module report):
MIN_SAVING = 12  # tokens an elision must save beyond its marker, else eliding costs more than it helps
IMPORT_MIN_ROWS, IMPORT_KEEP_ROWS = 8, 3
LITERAL_MIN_ROWS, LITERAL_KEEP_ROWS = 12, 4
MEMBER_RUN_MIN = 8  # plain assignments in a row, in a class body, before they fold like a literal
MAX_LISTED_MEMBERS = 80
COMMENT_MIN_ROWS, COMMENT_KEEP_ROWS = 3, 1
MAX_RAISES, MAX_RAISE_CHARS = 3, 120
_EXACT_BELOW = 800  # visible chars: below this, token counts are exact (see `_tokens`)
# Said once, on the first marker of a numbered read, whose markers give no line span.
NUMBERED_LEGEND = "each marker folds the lines up to the next number shown"

_STR = r"""(?:"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*')"""
# One simple leading argument: `HttpError(404, "not found")`. The parts may sit on separate
# lines; `_raises` joins them with one space (a marker is one line).
_LEAD_ARG = r"(?:[\w.]+\s*,\s*)?"
_PY_RAISE = re.compile(r"\braise\s+([A-Za-z_][\w.]*)\(\s*(" + _LEAD_ARG + r"(?:[rRuUfF]{1,2})?" + _STR + r")\s*(\))?")
_PY_RAISE_CLASS = re.compile(r"\braise\s+([A-Z]\w*(?:\.[A-Z]\w*)*)(?:\(\s*\))?[ \t]*(?:$|\bfrom\b|#)", re.MULTILINE)
# A warning's message: `warnings.warn(f"Unsupported price key: {keys}", stacklevel=2)`.
_PY_WARN = re.compile(r"(?<![\w.])(?:warnings\.)?warn\(\s*((?:[rRuUfF]{1,2})?" + _STR + r")\s*(\)|,)?")
# Any other raise of a class: `raise HTTPException(status_code=400, detail=exc.message)`.
_PY_RAISE_CALL = re.compile(r"\braise\s+([A-Z]\w*(?:\.[A-Z]\w*)*)\(")
_THROW = re.compile(
    r"\bthrow\s+(?:new\s+)?([A-Za-z_$][\w$.:]*)\s*\(\s*(" + _LEAD_ARG + "(?:" + _STR + r"|`[^`\\\n]*`))\s*(\))?"
)
_GO_ERR = re.compile(r"\b(errors\.New|fmt\.Errorf|panic)\(\s*(" + _STR + r"|`[^`\n]*`)\s*(\))?")
_RUST_ERR = re.compile(
    r"(\b(?:panic|unreachable|unimplemented|todo|bail|anyhow)!|\.expect|\bErr)\(\s*(" + _STR + r")\s*(\))?"
)
# A docstring sentence stating a default value: facts agents ask about ("the default is ...").
_DEFAULT_SENTENCE = re.compile(r"\bdefaults?\s+(?:is|are|to|value)\b|\bby default\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
_QUOTES_ONLY = re.compile(r"""^\s*[rRuU]?(?:\"\"\"|''')\\?\s*$""")
_COMMENT_TEXT = re.compile(r"[^\s#/*!-]")
_NAMESPACES = frozenset({"namespace_definition", "mod_item", "internal_module", "module"})
_EXPORT_NAMES = frozenset({"__all__", "module.exports", "exports"})
_BARE_NAMES = frozenset({"identifier", "shorthand_property_identifier"})
_JS_DECLARATIONS = frozenset({"lexical_declaration", "variable_declaration"})
_COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})
_BLANKS = re.compile(r"\s*\n\s*")
_NAME_PARTS = re.compile(r"::|\.")
_GENERICS = re.compile(r"<[^:]*>")  # `Lexer<'a>`, `Vec<Token>`: the type's own name matters


@dataclass(frozen=True, slots=True)
class Edit:
    """Drop rows `start..end` (inclusive, 0-based); put `text` (a code line, no number prefix)
    in their place, or nothing when `text` is None (a neighbouring edit's marker covers them)."""

    start: int
    end: int
    text: str | None


@dataclass(frozen=True)
class LangSpec:
    functions: frozenset[str]  # nodes whose `body` field can become a stub
    containers: frozenset[str]  # class-like: a name to protect, a `body` to walk
    wrappers: frozenset[str]  # walked through transparently
    imports: frozenset[str]
    literals: frozenset[str]  # list/dict/array literals: long ones become "tables"
    comment: str  # line-comment token
    raises: re.Pattern[str]
    raise_word: str


def _spec(functions: str, containers: str, wrappers: str, imports: str, literals: str, **kw: Any) -> LangSpec:
    return LangSpec(
        frozenset(functions.split()),
        frozenset(containers.split()),
        frozenset(wrappers.split()),
        frozenset(imports.split()),
        frozenset(literals.split()),
        **kw,
    )


_JS_COMMON = (
    "function_declaration generator_function_declaration method_definition function_expression "
    "function arrow_function generator_function"
)
_JS_WRAPPERS = (
    "export_statement lexical_declaration variable_declaration variable_declarator expression_statement "
    "assignment_expression public_field_definition field_definition ambient_declaration pair"
)
_JS_CONTAINERS = "class_declaration class abstract_class_declaration internal_module module"
SPECS: dict[str, LangSpec] = {
    "python": _spec(
        "function_definition",
        "class_definition",
        "decorated_definition if_statement elif_clause else_clause try_statement except_clause "
        "finally_clause with_statement for_statement while_statement block expression_statement "
        "assignment call argument_list",
        "import_statement import_from_statement future_import_statement",
        "dictionary list set tuple",
        comment="#",
        raises=_PY_RAISE,
        raise_word="raises",
    ),
    "javascript": _spec(_JS_COMMON, _JS_CONTAINERS, _JS_WRAPPERS, "import_statement", "object array",
                        comment="//", raises=_THROW, raise_word="throws"),
    "go": _spec(
        "function_declaration method_declaration func_literal",
        "",
        "var_declaration const_declaration var_spec const_spec expression_list composite_literal",
        "import_spec",
        "literal_value",
        comment="//",
        raises=_GO_ERR,
        raise_word="errors",
    ),
    "rust": _spec(
        "function_item",
        "impl_item trait_item mod_item",
        "const_item static_item declaration_list",
        "use_declaration extern_crate_declaration",
        "array_expression",
        comment="//",
        raises=_RUST_ERR,
        raise_word="errors",
    ),
    "java": _spec(
        "method_declaration constructor_declaration compact_constructor_declaration",
        "class_declaration interface_declaration enum_declaration record_declaration "
        "annotation_type_declaration",
        "enum_body_declarations field_declaration variable_declarator",
        "import_declaration",
        "array_initializer",
        comment="//",
        raises=_THROW,
        raise_word="throws",
    ),
    "cpp": _spec(
        "function_definition",
        "namespace_definition class_specifier struct_specifier union_specifier",
        "template_declaration linkage_specification declaration_list preproc_if preproc_ifdef preproc_else "
        "preproc_elif declaration init_declarator field_declaration",
        "preproc_include using_declaration",
        "initializer_list",
        comment="//",
        raises=_THROW,
        raise_word="throws",
    ),
}  # fmt: skip
# TypeScript: an interface's members are a scope like a class body's, so the doc comments on
# its fields fold as comments do anywhere (a types module is mostly those comments).
SPECS["typescript"] = SPECS["tsx"] = replace(
    SPECS["javascript"], containers=SPECS["javascript"].containers | {"interface_declaration"}
)


def last_row(node: Any) -> int:
    """The last row a node really occupies (a node ending at column 0 ends on the row before)."""
    end = node.end_point
    return int(end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _node_text(node: Any) -> str:
    return node.text.decode("utf-8", "replace") if node.text else ""


def name_of(node: Any) -> str | None:
    """The declared name of a function or container node (last part of `A::b` / `a.b`)."""
    full = _full_name(node)
    return _NAME_PARTS.split(full)[-1].strip() if full is not None else None


def _full_name(node: Any) -> str | None:
    """The name as written, qualifier and generics included: `ThreadPool::worker_loop`."""
    name = node.child_by_field_name("name")
    if name is None and node.type == "impl_item":  # Rust: `impl Trait for Type`
        name = node.child_by_field_name("type")
    if name is None and node.type == "function_definition":  # C++: walk the declarator chain
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.child_by_field_name("declarator") is not None:
            decl = decl.child_by_field_name("declarator")
        name = decl
    parent = node.parent
    if name is None and parent is not None:
        for field in ("name", "left", "key"):
            name = parent.child_by_field_name(field)
            if name is not None:
                break
    if name is None:
        return None
    return _GENERICS.sub("", _node_text(name))


@dataclass(frozen=True, slots=True)
class Symbol:
    """A function or class-like declaration the outline would fold (or walk into)."""

    name: str
    container: str | None  # name of the enclosing class-like declaration, if any
    is_container: bool
    key: int  # start byte: how `plan_outline(kept=...)` refers to it
    start_row: int
    end_row: int
    tokens: int  # estimated tokens of the whole declaration (what keeping it whole costs)


def collect_symbols(root: Any, language: str) -> list[Symbol]:
    """Functions and containers the planner reaches, in file order.

    Mirrors `_Planner.visit_scope`/`visit_node`: only declarations whose body the outline would
    fold are candidates for keeping whole (a function nested in a folded body is not reachable).
    """
    spec = SPECS[language]
    python = language == "python"
    found: list[Symbol] = []

    def scope(node: Any, container: str | None) -> None:
        for child in node.named_children:
            visit(child, container)

    def add(node: Any, container: str | None, is_container: bool) -> str | None:
        full = _full_name(node)
        parts = _NAME_PARTS.split(full) if full else []
        name = parts[-1].strip() if parts else None
        if name:
            # C++ `void ThreadPool::worker_loop()` is defined outside its class: the qualifier
            # written in the name is its container.
            owner = parts[-2].strip() if len(parts) >= 2 and parts[-2].strip() else container
            found.append(
                Symbol(
                    name,
                    owner,
                    is_container,
                    node.start_byte,
                    node.start_point.row,
                    last_row(node),
                    (node.end_byte - node.start_byte) // 4,  # ~4 bytes a token in source code
                )
            )
        return name

    def visit(node: Any, container: str | None) -> None:
        kind = node.type
        if kind == "import_declaration" and not python:
            return
        if kind in spec.functions:
            if node.child_by_field_name("body") is not None and not node.has_error:
                add(node, container, False)
        elif kind in spec.containers:
            name = add(node, container, True) if kind not in _NAMESPACES else None
            body = node.child_by_field_name("body")
            if body is not None:
                scope(body, name or container)
        elif python and kind == "if_statement" and _Planner._is_main_guard(node):
            return
        elif kind in spec.wrappers:
            scope(node, container)
        elif kind in spec.literals:
            elems = [c for c in node.named_children if c.type not in _COMMENT_TYPES]
            if any(_holds_function(spec, e) for e in elems):
                scope(node, container)

    scope(root, None)
    return found


def _holds_function(spec: LangSpec, elem: Any) -> bool:
    value = elem.child_by_field_name("value")
    return elem.type in spec.functions or (value is not None and value.type in spec.functions)


def _is_member(node: Any) -> bool:
    """A plain `NAME = value` statement (not a function bound to a name, not an annotated field)."""
    if node.type != "expression_statement" or node.named_child_count != 1:
        return False
    assignment = node.named_children[0]
    if assignment.type != "assignment":
        return False
    left, right = assignment.child_by_field_name("left"), assignment.child_by_field_name("right")
    if assignment.child_by_field_name("type") is not None:
        return False  # `retries: int = 3`: a dataclass / model field, whose type and default are its API
    return left is not None and left.type == "identifier" and right is not None and right.type != "lambda"


def _comment_run_end(nodes: list[Any], i: int) -> int:
    """Index of the last comment of the run of line comments starting at `nodes[i]` (a block
    comment is a run of its own)."""
    j = i
    if not _node_text(nodes[i]).startswith("/*"):
        while (
            j + 1 < len(nodes)
            and nodes[j + 1].type in _COMMENT_TYPES
            and nodes[j + 1].start_point.row == last_row(nodes[j]) + 1
            and not _node_text(nodes[j + 1]).startswith("/*")
        ):
            j += 1
    return j


class _Planner:
    def __init__(
        self,
        lines: list[str],
        language: str,
        kept: frozenset[int],
        first_number: int,
        count: Callable[[str], int],
        row_cost: int = 0,
        named_words: frozenset[str] = frozenset(),
    ) -> None:
        self.lines = lines
        self.named_words = named_words
        self.row_cost = row_cost
        # A numbered read (row_cost > 0) shows every kept line's number, so a marker needs no
        # span: the lines it folds run up to the next number shown (`NUMBERED_LEGEND`).
        self.numbered = row_cost > 0
        self.python = language == "python"
        self.spec = SPECS[language]
        self.kept = kept
        self.base = first_number
        self.count = count
        self.edits: list[Edit] = []
        self.notes: Counter[str] = Counter()

    # ------------------------------------------------------------------ helpers

    def _what(self, label: str, a: int, b: int, sep: str = " ") -> str:
        """A marker's summary: what it folds and which file lines, as the agent numbers them and
        `retrieve(ref, lines=...)` takes them ("body lines 184-194"); every word costs tokens on
        each of the dozens of folds in a file. In a numbered read the label alone ("body"): the
        numbers around the marker already say where (~6 tokens less per marker)."""
        if self.numbered:
            return label
        span = f"lines {a + self.base}-{b + self.base}" if b > a else f"line {a + self.base}"
        return f"{label}{sep}{span}"

    @staticmethod
    def _marker(summary: str) -> str:
        """A marker without its ref: `_place_refs` adds the ref to the first marker of the unit
        and to one every `REF_EVERY_CHARS` of output; the rest cite only their lines."""
        return marker(summary, None)

    def _tokens(self, a: int, b: int) -> int:
        """Tokens in rows a..b: exact when it can decide an elision, else a cheap lower bound.

        Only "is this worth a marker (~25 tokens)?" depends on it, so long runs need no
        exact count: 800+ visible characters (~200+ tokens) are always far above it.
        """
        rows = self.lines[a : b + 1]
        visible = sum(len(row.strip()) for row in rows)
        text = visible // 4 if visible >= _EXACT_BELOW else self.count("\n".join(rows))
        return text + len(rows) * self.row_cost  # each numbered line also pays for its "  123\t"

    def _worth(self, dropped: int, edits: list[Edit]) -> bool:
        """Apply `edits` only if they save real tokens: tiny bodies stay (eliding costs more)."""
        cost = sum(self.count(e.text) + self.row_cost for e in edits if e.text)
        if dropped - cost < MIN_SAVING:
            return False
        self.edits.extend(edits)
        self.notes["lines_elided"] += sum(e.end - e.start + 1 for e in edits)
        return True

    def _is_kept(self, node: Any) -> bool:
        """Named by the task (see `source_code.select_named`): the body stays whole."""
        return node.start_byte in self.kept

    def _names_kept(self, node: Any) -> bool:
        """Whether `node` is (or wraps, as decorators and exports do) a symbol kept whole."""
        while node is not None:
            if node.start_byte in self.kept:
                return True
            node = node.child_by_field_name("definition") or node.child_by_field_name("declaration")
        return False

    def _comment_runs(self, comments: list[Any]) -> None:
        """Fold each run of line comments among `comments` (a class's leading comments)."""
        i = 0
        while i < len(comments):
            j = _comment_run_end(comments, i)
            self._comment_run(comments[i : j + 1])
            i = j + 1

    def _raises(self, a: int, b: int) -> str:
        found: dict[str, None] = {}
        text = "\n".join(self.lines[a : b + 1])
        if self.python:  # bare `raise QueueEmpty`: the class alone is a fact worth a few tokens
            for name in _PY_RAISE_CLASS.findall(text)[:MAX_RAISES]:
                found[name] = None
        for match in self.spec.raises.finditer(text):
            name, literal, closed = match.group(1), match.group(2), match.group(3)
            literal = _BLANKS.sub(" ", literal)
            if len(literal) <= MAX_RAISE_CHARS:
                found[f"{name}({literal}{')' if closed else ' ...)'}"] = None
            if len(found) >= 2 * MAX_RAISES:
                break
        if self.python and len(found) < 2 * MAX_RAISES:  # raised with arguments no literal shows
            for name in dict.fromkeys(_PY_RAISE_CALL.findall(text)):
                if name not in found and not any(shown.startswith(f"{name}(") for shown in found):
                    found[f"{name}(...)"] = None
                if len(found) >= 2 * MAX_RAISES:
                    break
        raised = f"; {self.spec.raise_word} {', '.join(found)}" if found else ""
        return raised + (self._warns(text) if self.python else "")

    @staticmethod
    def _warns(text: str) -> str:
        """The messages of the warnings a Python body emits (`warnings.warn("...")`): like an
        error's, a fact agents look for ("what does it warn when ...") and change."""
        found: dict[str, None] = {}
        for match in _PY_WARN.finditer(text):
            literal = _BLANKS.sub(" ", match.group(1))
            if len(literal) <= MAX_RAISE_CHARS:
                found[f"{literal}{'' if match.group(2) else ' ...'}"] = None
            if len(found) >= MAX_RAISES:
                break
        return f"; warns {', '.join(found)}" if found else ""

    @staticmethod
    def _is_main_guard(node: Any) -> bool:
        """`if __name__ == "__main__":` — a script tail, stubbed like a function body."""
        condition = node.child_by_field_name("condition")
        return condition is not None and "__name__" in _node_text(condition)

    def _is_import(self, node: Any) -> bool:
        if node.type in self.spec.imports:
            return True
        # CommonJS: `const fs = require('fs');` is an import in all but name.
        return (
            node.type in _JS_DECLARATIONS
            and node.start_point.row == node.end_point.row
            and b"require(" in (node.text or b"")
        )

    # ------------------------------------------------------------------ walking

    def visit_scope(self, node: Any) -> None:
        """Walk a scope's statements, grouping runs of comments and imports."""
        children = node.named_children
        i = 0
        while i < len(children):
            child = children[i]
            kind = child.type
            if self._is_import(child):
                j = i
                while j + 1 < len(children) and (
                    self._is_import(children[j + 1]) or children[j + 1].type in _COMMENT_TYPES
                ):
                    j += 1
                while children[j].type in _COMMENT_TYPES:
                    j -= 1
                self._import_run(children[i : j + 1])
                i = j + 1
                continue
            if kind in _COMMENT_TYPES:
                j = _comment_run_end(children, i)
                following = children[j + 1] if j + 1 < len(children) else None
                if following is None or not self._names_kept(following):
                    self._comment_run(children[i : j + 1])  # a kept symbol's comment stays whole
                i = j + 1
                continue
            self.visit_node(child)
            i += 1
        if self.row_cost:
            self._drop_blank_rows(children)

    def _class_comments(self, node: Any, body: Any) -> None:
        """Fold the comment runs between a Python class's colon and its first statement, and
        (numbered) drop the blank lines around them, as between the statements of a scope."""
        comments = [c for c in node.named_children if c.type in _COMMENT_TYPES]
        if not comments:
            return
        self._comment_runs(comments)
        colon = next((c for c in node.children if c.type == ":"), None)
        if self.row_cost and colon is not None and body.named_children:
            self._drop_blank_rows([colon, *comments, body.named_children[0]])

    def _drop_blank_rows(self, children: list[Any]) -> None:
        """Blank lines between the declarations of a scope, in a numbered read: each costs a
        "   123\t" prefix (~4 tokens) and says nothing the numbers do not (kept bodies keep
        theirs: they are not walked)."""
        for prev, node in itertools.pairwise(children):
            a, b = last_row(prev) + 1, node.start_point.row - 1
            while a <= b and not self.lines[a].strip():
                start = a
                while a <= b and not self.lines[a].strip():
                    a += 1
                self.edits.append(Edit(start, a - 1, None))
                self.notes["blank_lines_dropped"] += a - start
                break

    def visit_node(self, node: Any) -> None:
        kind = node.type
        if node.type == "import_declaration" and not self.python:  # Go: `import ( ... )`
            for child in node.named_children:
                if child.type == "import_spec_list":
                    self.visit_scope(child)
        elif kind in self.spec.functions:
            self.function(node)
        elif kind in self.spec.containers:
            if kind not in _NAMESPACES and self._is_kept(node):
                self.notes["bodies_kept_named"] += 1
                if self.python:
                    self._named_class_prose(node)
                return
            body = node.child_by_field_name("body")
            if body is not None:
                if self.python:  # comments before the class body's first statement sit beside it
                    self._class_comments(node, body)
                    doc = self._docstring(body)
                    if doc is not None:
                        self._trim_docstring(doc)
                    self._member_runs(body)
                self.visit_scope(body)
        elif self.python and kind == "if_statement" and self._is_main_guard(node):
            body = node.child_by_field_name("consequence")
            if body is not None and not node.has_error:
                self._python_body(body)
        elif kind in self.spec.wrappers:
            self.visit_scope(node)
        elif kind in self.spec.literals:
            self._literal(node)

    def _member_runs(self, body: Any) -> None:
        """Runs of plain assignments in the body of a class the task does not name (an enum's
        members, a class-level table) fold like a long literal: the first rows stay, and the
        marker lists the names of the rest, so each member is still found by name."""
        children = body.named_children
        i = 0
        while i < len(children):
            if not _is_member(children[i]):
                i += 1
                continue
            j = i
            while j + 1 < len(children) and (_is_member(children[j + 1]) or children[j + 1].type in _COMMENT_TYPES):
                j += 1
            while children[j].type in _COMMENT_TYPES:
                j -= 1
            self._member_run(children[i : j + 1])
            i = j + 1

    def _member_run(self, run: list[Any]) -> None:
        members = [node for node in run if node.type not in _COMMENT_TYPES]
        first, close = run[0].start_point.row, last_row(run[-1])
        if len(members) < MEMBER_RUN_MIN or close - first + 1 < LITERAL_MIN_ROWS:
            return
        k = next((i for i, node in enumerate(members) if node.start_point.row >= first + LITERAL_KEEP_ROWS), None)
        if k is None or k >= len(members) - 1:
            return
        names = [_node_text(node.named_children[0].child_by_field_name("left")) for node in members[k:]]
        if any(name.lower() in self.named_words for name in names):
            return  # the task names a member: the table stays whole
        listed = ", ".join(names[:MAX_LISTED_MEMBERS]) + (", …" if len(names) > MAX_LISTED_MEMBERS else "")
        a = members[k].start_point.row
        summary = f"{self._what(f'{len(names)} more members', a, close, ', ')}: {listed}"
        edit = Edit(a, close, f"{_indent(self.lines[a])}{self.spec.comment} {self._marker(summary)}")
        if self._worth(self._tokens(a, close), [edit]):
            self.notes["member_runs_collapsed"] += 1

    def _named_class_prose(self, node: Any) -> None:
        """A class the task names keeps every line of its code; only its prose folds as it does
        anywhere else: the docstrings of the class, its methods and nested classes past their
        first line (sentences stating defaults stay). A method the task names itself stays whole."""
        body = node.child_by_field_name("body")
        if body is None or node.has_error:
            return
        doc = self._docstring(body)
        if doc is not None:
            self._trim_docstring(doc)
        for child in body.named_children:
            member = child
            while member is not None and member.type == "decorated_definition":
                member = member.child_by_field_name("definition")
            if member is None or self._is_kept(member):
                continue
            if member.type in self.spec.containers:
                self._named_class_prose(member)
            elif member.type in self.spec.functions:
                method_body = member.child_by_field_name("body")
                method_doc = self._docstring(method_body) if method_body is not None else None
                if method_doc is not None and not member.has_error:
                    self._trim_docstring(method_doc)

    def function(self, node: Any) -> None:
        body = node.child_by_field_name("body")
        if body is None or node.has_error:
            return
        if self._is_kept(node):
            self.notes["bodies_kept_named"] += 1
            return
        if self.python:
            self._python_body(body)
        elif body.start_point.row < body.end_point.row and _node_text(body).startswith("{"):
            self._brace_body(body)

    # ------------------------------------------------------------------ bodies

    def _brace_body(self, body: Any) -> None:
        open_row, close_row = body.start_point.row, body.end_point.row
        inner = [c for c in body.children if c.type not in ("{", "}")]
        if close_row - open_row < 2 or any(c.start_point.row == open_row or last_row(c) == close_row for c in inner):
            return  # a statement shares the brace lines: dropping rows would break it
        a, b = open_row + 1, close_row - 1
        first = next((line for line in self.lines[a : b + 1] if line.strip()), "")
        indent = _indent(first) if first else _indent(self.lines[open_row]) + "    "
        summary = f"{self._what('body', a, b)}{self._raises(a, b)}"
        edit = Edit(a, b, f"{indent}{self.spec.comment} {self._marker(summary)}")
        if self._worth(self._tokens(a, b), [edit]):
            self.notes["bodies_elided"] += 1
        else:
            self.notes["bodies_kept_small"] += 1

    def _docstring(self, block: Any) -> Any | None:
        first = next((c for c in block.named_children if c.type not in _COMMENT_TYPES), None)
        if first is None or first.type != "expression_statement" or first.named_child_count != 1:
            return None
        string = first.named_children[0]
        if string.type != "string":
            return None
        opener = _node_text(string.children[0]) if string.child_count else ""
        if not opener.endswith(('"""', "'''")) or any(c in opener.lower() for c in "bf"):
            return None  # only plain triple-quoted docstrings can hold a marker line safely
        return string

    def _docstring_keep(self, doc: Any) -> set[int]:
        """Docstring rows that stay: first line (and the text after a bare opener), closing
        line, and sentences that state a default value."""
        d0, d1 = doc.start_point.row, doc.end_point.row
        keep = {d0, d1}
        if _QUOTES_ONLY.match(self.lines[d0]):
            nxt = next((r for r in range(d0 + 1, d1) if self.lines[r].strip()), None)
            if nxt is not None:
                keep.add(nxt)
        for row in range(d0 + 1, d1):
            match = _DEFAULT_SENTENCE.search(self.lines[row])
            if match is None:
                continue
            keep.add(row)
            tail, r = self.lines[row][match.end() :], row
            while not _SENTENCE_END.search(tail) and r + 1 < d1 and self.lines[r + 1].strip() and r < row + 2:
                r += 1
                keep.add(r)
                tail = self.lines[r]
        return keep

    def _doc_runs(self, doc: Any, keep: set[int]) -> list[tuple[int, int]]:
        runs: list[tuple[int, int]] = []
        for row in range(doc.start_point.row + 1, doc.end_point.row):
            if row in keep:
                continue
            if runs and runs[-1][1] == row - 1:
                runs[-1] = (runs[-1][0], row)
            else:
                runs.append((row, row))
        return runs

    def _doc_edits(self, doc: Any, runs: list[tuple[int, int]]) -> tuple[list[Edit], int]:
        """Marker edits for the docstring runs that pay for their marker, and the tokens they drop."""
        indent = _indent(self.lines[doc.start_point.row])
        closing = doc.end_point.row
        quotes = self.lines[closing].strip()
        edits: list[Edit] = []
        dropped = 0
        for a, b in runs:
            text = f"{indent}{self._marker(self._what('docstring', a, b))}"
            tokens = self._tokens(a, b)
            end = b
            if b == closing - 1 and quotes in ('"""', "'''"):
                # The bare closing quotes ride on the marker line: one line (and, numbered, one
                # "  123\t" prefix) less for every trimmed docstring.
                text, end = text + quotes, closing
                tokens += self._tokens(closing, closing)
            if tokens - self.count(text) - self.row_cost >= MIN_SAVING // 2:
                edits.append(Edit(a, end, text))
                dropped += tokens
        return edits, dropped

    def _trim_docstring(self, doc: Any) -> None:
        edits, dropped = self._doc_edits(doc, self._doc_runs(doc, self._docstring_keep(doc)))
        if edits and self._worth(dropped, edits):
            self.notes["docstrings_trimmed"] += 1

    def _python_body(self, body: Any) -> None:
        # tree-sitter puts the comments between the colon and the first statement beside the
        # block, not in it: they are part of the body all the same.
        colon = body.prev_sibling
        leading: list[Any] = []
        while colon is not None and colon.type in _COMMENT_TYPES:
            leading.insert(0, colon)
            colon = colon.prev_sibling
        b0, b1 = body.start_point.row, last_row(body)
        if colon is None or b0 <= colon.end_point.row or body.has_error:
            return  # one-line body (`def f(): return 1`): nothing to gain
        leading = [c for c in leading if c.start_point.row > colon.end_point.row]  # not `def f():  # x`
        doc = self._docstring(body)
        if leading and doc is None:
            b0 = leading[0].start_point.row
        elif leading:
            self._comment_runs(leading)
        code_start = doc.end_point.row + 1 if doc is not None else b0
        indent = _indent(self.lines[b0])
        runs = self._doc_runs(doc, self._docstring_keep(doc)) if doc is not None else []
        # The docstring's last run, when only the bare closing quotes sit between it and the
        # code: one marker line stands for both, and closes the docstring.
        tail: tuple[int, int] | None = None
        closing = doc.end_point.row if doc is not None else -1
        if runs and runs[-1][1] == closing - 1 and self.lines[closing].strip() in ('"""', "'''"):
            tail = runs.pop()
        dropped = self._tokens(code_start, b1) if code_start <= b1 else 0
        if tail is not None:
            dropped += self._tokens(*tail)
        stub_cost = self.count(f"{indent}... # {self._marker(self._what('body', b0, b1))}") + self.row_cost
        if code_start > b1 or dropped - stub_cost < MIN_SAVING:
            # Code and docstring tail too small to stub together (`raise NotImplementedError`):
            # keep the code and only trim a long docstring.
            if doc is not None:
                self._trim_docstring(doc)
            if code_start <= b1:
                self.notes["bodies_kept_small"] += 1
            return
        edits: list[Edit] = []
        if doc is not None:
            edits, doc_dropped = self._doc_edits(doc, runs)
            dropped += doc_dropped
        if tail is None:
            summary = f"{self._what('body', code_start, b1)}{self._raises(code_start, b1)}"
            edits.append(Edit(code_start, b1, f"{indent}... # {self._marker(summary)}"))
        else:
            # Docstring tail, closing quotes and code become one marker line that closes the
            # docstring: a body of only a docstring is valid Python, and needs no `...` line.
            dropped += self._tokens(closing, closing)
            facts = self._raises(code_start, b1)
            if "\\" in facts or '"""' in facts or "'''" in facts:
                facts = ""  # inside the docstring an escape or its closing quotes would not parse
            summary = f"{self._what('body', tail[0], b1)}{facts}"
            edits.append(Edit(tail[0], b1, f"{indent}{self._marker(summary)}{self.lines[closing].strip()}"))
        if self._worth(dropped, edits):
            self.notes["bodies_elided"] += 1
        else:
            self.notes["bodies_kept_small"] += 1

    # ------------------------------------------------------------------ runs and tables

    def _import_run(self, run: list[Any]) -> None:
        start, end = run[0].start_point.row, last_row(run[-1])
        if end - start + 1 < IMPORT_MIN_ROWS or any(node.has_error for node in run):
            return
        for prev, node in itertools.pairwise(run):
            a = node.start_point.row
            if a >= start + IMPORT_KEEP_ROWS and a > last_row(prev):
                summary = self._what("imports", a, end, ", ")
                text = f"{self.spec.comment} {self._marker(summary)}"
                if self._worth(self._tokens(a, end), [Edit(a, end, _indent(self.lines[a]) + text)]):
                    self.notes["imports_collapsed"] += 1
                return

    def _comment_run(self, run: list[Any]) -> None:
        start, end = run[0].start_point.row, last_row(run[-1])
        block = _node_text(run[0]).startswith("/*")
        # Keep the first rows that say something (not a bare "#" / "/**" / " *").
        a, seen = start, 0
        while a <= end and seen < COMMENT_KEEP_ROWS:
            seen += bool(_COMMENT_TEXT.search(self.lines[a]))
            a += 1
        b = end - 1 if block else end
        if end - start + 1 < COMMENT_MIN_ROWS or a > b:
            return
        first = self.lines[a]
        if block:
            lead = _indent(first) + ("* " if first.lstrip().startswith("*") else "")
        else:
            lead = _indent(first) + self.spec.comment + " "
        edit = Edit(a, b, lead + self._marker(self._what("comment", a, b)))
        if self._worth(self._tokens(a, b), [edit]):
            self.notes["comments_collapsed"] += 1

    def _literal(self, node: Any) -> None:
        elems = [c for c in node.named_children if c.type not in _COMMENT_TYPES]
        if any(_holds_function(self.spec, e) for e in elems):
            self.visit_scope(node)  # `module.exports = { handler() {...} }`: an object of methods
            return
        close = last_row(node)
        if close - node.start_point.row + 1 < LITERAL_MIN_ROWS or node.has_error:
            return
        target = node.parent.child_by_field_name("left") or node.parent.child_by_field_name("name")
        if target is not None and _node_text(target) in _EXPORT_NAMES:
            return  # `__all__` and export lists are the module's API: always visible
        if all(e.type in _BARE_NAMES for e in elems):
            return  # a list of bare names is an export/re-export list, not a data table
        k = next(
            (
                i
                for i in range(1, len(elems))
                if elems[i].start_point.row >= node.start_point.row + LITERAL_KEEP_ROWS
                and elems[i].start_point.row > last_row(elems[i - 1])
            ),
            None,
        )
        if k is None:
            return
        m = next(
            (
                i
                for i in range(len(elems) - 1, k - 1, -1)
                if last_row(elems[i]) < (elems[i + 1].start_point.row if i + 1 < len(elems) else close)
            ),
            None,
        )
        a = elems[k].start_point.row
        if m is None or self.lines[a][: elems[k].start_point.column].strip() not in ("", ","):
            return
        b = last_row(elems[m])
        summary = self._what(f"{m - k + 1} entries", a, b, ", ")
        edit = Edit(a, b, f"{_indent(self.lines[a])}{self.spec.comment} {self._marker(summary)}")
        if self._worth(self._tokens(a, b), [edit]):
            self.notes["literals_collapsed"] += 1


def plan_outline(
    root: Any,
    lines: list[str],
    language: str,
    kept: frozenset[int],
    ref: str,
    first_number: int,
    count: Callable[[str], int],
    row_cost: int = 0,
    named_words: frozenset[str] = frozenset(),
) -> tuple[list[Edit], Counter[str]]:
    """The edits (sorted, non-overlapping) that turn `lines` into an outline, and counters.

    `row_cost`: tokens of each line's number prefix in a numbered read (0 when not numbered):
    dropping a line saves them too, and blank lines between declarations are dropped.
    `named_words`: lower-cased identifiers the task writes (a member it names keeps its table)."""
    planner = _Planner(lines, language, kept, first_number, count, row_cost, named_words)
    if planner.python:
        doc = planner._docstring(root)
        if doc is not None:
            planner._trim_docstring(doc)
    planner.visit_scope(root)
    edits: list[Edit] = []
    for edit in sorted(planner.edits, key=lambda e: (e.start, e.end)):
        if edits and edit.start <= edits[-1].end:
            continue  # defensive: never emit overlapping ranges
        edits.append(edit)
    return _place_refs(edits, lines, ref, planner.numbered), planner.notes


def _place_refs(edits: list[Edit], lines: list[str], ref: str, numbered: bool) -> list[Edit]:
    """Give the first marker, and then one marker every `REF_EVERY_CHARS` of output, the ref;
    in a numbered read the first one also says how its span-less markers are read."""
    placed: list[Edit] = []
    legend = f"; {NUMBERED_LEGEND}" if numbered else ""
    since = REF_EVERY_CHARS  # output characters since the last marker with the ref
    row = 0
    for edit in edits:
        since += sum(len(line) + 1 for line in lines[row : edit.start])
        row = edit.end + 1
        text = edit.text
        if text is not None and since >= REF_EVERY_CHARS:
            # The marker ends the line, or sits just before a docstring's closing quotes.
            end = len(text.rstrip("\"'")) - 1
            text = f"{text[:end]}{legend} · ref={ref}{text[end:]}"
            legend = ""  # once per unit
            edit = Edit(edit.start, edit.end, text)
            since = 0
        since += len(text) + 1 if text is not None else 0
        placed.append(edit)
    return placed
