"""CodeCompressor: AST outlines with tree-sitter, one real-looking fixture per language."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import MARKER_PREFIX, REF_EVERY_CHARS, find_refs, has_marker
from headroom.ccr.retrieval import retrieve
from headroom.compressors import _code_outline, source_code
from headroom.compressors._tree_sitter import detect_language, get_parser, split_line_numbers
from headroom.compressors.base import all_compressors
from headroom.compressors.source_code import CodeCompressor
from headroom.pipeline import Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, Segment, SegmentContext
from headroom.tokens import count_tokens
from tests.factories import unpadded

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "code"

# file, language, signatures that must survive, a body-only line that must be elided,
# and an error message that must stay visible (kept body or listed in a stub marker).
CASES = [
    (
        "ratelimit_client.py",
        "python",
        [
            "class TokenBucket:",
            "    def acquire(self, wait: bool = True, timeout: float | None = None) -> None:",
            "def parse_retry_after(value: str | None, now: float | None = None) -> float | None:",
            "class RateLimitedClient:",
        ],
        "                    url = urllib.parse.urljoin(url, location)",
        "token bucket wait exceeded the timeout",
    ),
    (
        "router.js",
        "javascript",
        [
            "class Router extends EventEmitter {",
            "  route(method, pattern, ...handlers) {",
            "function serveStatic(root, options = {}) {",
        ],
        "      const dispatch = async (i) => {",
        "a route needs at least one handler",
    ),
    (
        "event_store.ts",
        "typescript",
        [
            "export interface StoredEvent<T = unknown> {",
            "export class EventStore extends EventEmitter {",
            "  async replay<S, T>(stream: string, reducer: Reducer<S, T>, initial: S): Promise<S> {",
            "export enum EventKind {",
        ],
        '      const lines = events.map((event) => JSON.stringify(event)).join("\\n") + "\\n";',
        "exceeds MAX_BATCH_SIZE",
    ),
    (
        "SearchPanel.tsx",
        "tsx",
        [
            "export function SearchPanel({ search, placeholder = "
            '"Search…", onSelect, renderEmpty }: SearchPanelProps) {',
            "function reducer(state: State, action: Action): State {",
            "export interface SearchPanelProps {",
        ],
        '        aria-label="Search"',
        None,
    ),
    (
        "lru_cache.go",
        "go",
        [
            "func (c *Cache) Set(key string, value []byte, ttl time.Duration) error {",
            "type Cache struct {",
            "func New(capacity int, opts ...Option) *Cache {",
        ],
        "\t\tvictim = oldest.Value.(*entry)",
        "lru: key longer than MaxKeyLength",
    ),
    (
        "lexer.rs",
        "rust",
        [
            "pub enum TokenKind {",
            "    pub fn next_token(&mut self) -> Result<Token, LexError> {",
            "impl<'a> Iterator for Lexer<'a> {",
            "pub fn tokenize(src: &str) -> Result<Vec<Token>, LexError> {",
        ],
        "            '(' => single(TokenKind::LParen),",
        "error message must not be empty",
    ),
    (
        "ConnectionPool.java",
        "java",
        [
            "public final class ConnectionPool implements AutoCloseable {",
            "    public Connection borrow() throws SQLException {",
            "    public int evictIdle() {",
            "    public static final int DEFAULT_MAX_SIZE = 16;",
        ],
        "                available.awaitNanos(remaining);",
        "interrupted while waiting for a connection",
    ),
    (
        "thread_pool.cpp",
        "cpp",
        [
            "class ThreadPool {",
            "void ThreadPool::worker_loop(std::size_t index) {",
            "    auto submit(F&& fn, Args&&... args) -> std::future<decltype(fn(args...))> {",
            "constexpr std::size_t kDefaultQueueLimit = 4096;",
        ],
        "            cv_.wait(lock, [this] { return !queue_.empty() || state_ == PoolState::Stopped; });",
        "thread pool queue is full",
    ),
]
IDS = [case[0] for case in CASES]


def _read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _compress(text: str, path: str | None = None, query: str = "", args: str | None = None) -> tuple[Segment, object]:
    ctx = SegmentContext(tool_name="read_file", tool_arguments=args, user_query=query, file_path=path)
    segment = Segment(text, ctx, ContentKind.CODE)
    return segment, CodeCompressor().compress(segment)


def _numbered(text: str, start: int = 1, sep: str = "\t") -> str:
    return "\n".join(f"{n:6d}{sep}{line}" for n, line in enumerate(text.split("\n"), start))


_NUMBER = re.compile(r"^ *(\d+)[\t→]")


def _folded_lines(out: str, at: int) -> tuple[int, int]:
    """The file lines that the marker on line `at` of an outline folds: its `lines a-b`, or in a
    numbered read (no span) from its own number up to the line before the next number shown."""
    lines = out.split("\n")
    span = re.search(r"\blines (\d+)-(\d+)", lines[at])
    if span:
        return int(span[1]), int(span[2])
    first = int(_NUMBER.match(lines[at])[1])  # type: ignore[index]
    after = next(int(m[1]) for line in lines[at + 1 :] if (m := _NUMBER.match(line)))
    return first, after - 1


def test_registered_as_the_code_compressor() -> None:
    compressor = all_compressors()["code"]
    assert isinstance(compressor, CodeCompressor)
    assert CodeCompressor.kinds == frozenset({ContentKind.CODE})
    assert CodeCompressor.priority == 10


@pytest.mark.parametrize(("name", "language", "signatures", "body_line", "message"), CASES, ids=IDS)
def test_outline_keeps_signatures_and_elides_bodies(
    name: str, language: str, signatures: list[str], body_line: str, message: str | None
) -> None:
    text = _read(name)
    assert len(text.splitlines()) >= 150
    segment, result = _compress(text, path=f"src/{name}")
    out = result.text
    assert result.lossy
    assert count_tokens(out) < 0.8 * count_tokens(text)
    for signature in signatures:
        assert signature in out.splitlines(), signature
    assert body_line not in out
    assert re.search(r"\[headroom: body lines \d+-\d+", out)
    assert find_refs(out) == [segment.ref]
    if message is not None:
        assert message in out
    # Every line of the outline is a line of the input or a marker line.
    originals = set(text.split("\n"))
    for line in out.split("\n"):
        assert line in originals or MARKER_PREFIX in line, line
    # The outline is still valid code for the same grammar.
    parser = get_parser(language)
    assert not parser.parse(text.encode()).root_node.has_error
    assert not parser.parse(out.encode()).root_node.has_error


def test_python_outline_parses_and_keeps_facts() -> None:
    text = _read("ratelimit_client.py")
    _, result = _compress(text, path="ratelimit_client.py")
    out = result.text
    ast.parse(out)
    for fact in [
        "_DEFAULT_BURST = 2 ** 4",
        "DEFAULT_TIMEOUT = 30.0  # seconds",
        "__all__ = [",
        '    user_agent = "ratelimit-client/1.4"',
        '    """Send a request, honouring the rate limit, cache and retry policy.',
        "    The default is to wait, which is what interactive clients want.",
        "rate must be positive",
        "unsupported URL scheme",
    ]:
        assert fact in out, fact
    stub = re.compile(r"^ +\.\.\. # \[headroom: body lines \d+-\d+[^\]]*(?: · ref=h_[0-9a-f]{12})?\]$", re.M)
    assert len(stub.findall(out)) >= 8
    # Small bodies stay: a stub would cost more than the body.
    assert '        return self.request("GET", url, **kwargs)' in out
    assert result.notes["bodies_elided"] >= 8
    assert result.notes["bodies_kept_small"] >= 1


@pytest.mark.parametrize(
    ("name", "query", "kept_line"),
    [
        (
            "ratelimit_client.py",
            "Fix the redirect handling in RateLimitedClient.request",
            "                    redirects += 1",
        ),
        ("lru_cache.go", "Why does Set evict the wrong entry?", "\t\tc.stats.Evictions++"),
        ("router.js", "add a test for compilePattern", "      keys.push(key);"),
        ("ConnectionPool.java", "make evictIdle log at INFO", "                evicted++;"),
    ],
)
def test_bodies_named_by_the_task_stay_whole(name: str, query: str, kept_line: str) -> None:
    text = _read(name)
    _, plain = _compress(text, path=name)
    assert kept_line not in plain.text
    _, result = _compress(text, path=name, query=query)
    assert kept_line in result.text
    assert result.notes["bodies_kept_named"] >= 1


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """`tree` with the docstring of every module, class and function removed (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if docstring and isinstance(first.value.value, str) and len(node.body) > 1:  # type: ignore[union-attr]
                node.body = node.body[1:]
    return tree


def _class_code(source: str, name: str) -> str:
    """The AST of class `name` in `source` without its docstrings: its code, statement by statement."""
    tree = _without_docstrings(ast.parse(source))
    found = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.dump(found)


def test_a_named_class_keeps_its_code() -> None:
    text = _read("ratelimit_client.py")
    _, result = _compress(text, path="ratelimit_client.py", query="The TokenBucket refill looks off")
    start = text.index("class TokenBucket:")
    end = text.index("class ResponseCache:")
    for line in text[start:end].split("\n"):
        if line.strip() and not line.strip().startswith(('"""', "Tokens accumulate", "token;", "Returns", "will be")):
            assert line in result.text.split("\n"), line
    assert _class_code(result.text, "TokenBucket") == _class_code(text, "TokenBucket")
    assert "    The default is to wait, which is what interactive clients want." in result.text


def test_a_named_stdlib_class_keeps_its_code_and_folds_its_prose() -> None:
    """`Formatter` named: every statement of the class stays (and in the original order), its
    long docstrings fold past their first line, one retrieve away."""
    text, path = _stdlib("logging")
    store = MemoryStore()
    segment, result = _compress(text, path=path, query="what does logging.Formatter do?")
    store.put(segment.ref, text)
    out = result.text
    assert _class_code(out, "Formatter") == _class_code(text, "Formatter")
    assert "class Formatter(object):" in out
    assert "    Formatter instances are used to convert a LogRecord to text." in out  # its first line
    table_row = "    %(relativeCreated)d Time in milliseconds when the LogRecord was created,"
    assert table_row in text and table_row not in out
    assert result.notes["named_exact"] == 1
    assert result.notes["docstrings_trimmed"] >= 3
    # The folded docstring lines come back by the marker's lines.
    marker = next(line for line in out.split("\n") if "[headroom: docstring" in line and "ref=" not in line)
    first, last = map(int, re.search(r"lines (\d+)-(\d+)", marker).groups())  # type: ignore[union-attr]
    got = retrieve(store, segment.ref, lines=f"{first}-{last}")
    assert got.found
    assert got.text.rstrip("\n") == "\n".join(text.split("\n")[first - 1 : last])
    # Unnamed classes are outlined as before: `Logger.findCaller`'s body is folded.
    assert _def_block(text, "def findCaller(self, stack_info=False, stacklevel=1):") not in out
    ast.parse(out)


def test_a_method_named_inside_a_named_class_keeps_its_docstring() -> None:
    text, path = _stdlib("logging")
    query = "how does logging.Formatter format exceptions?"
    _, result = _compress(text, path=path, query=query)
    assert _def_block(text, "def formatException(self, ei):") in result.text  # docstring and all
    assert _def_block(text, "def formatTime(self, record, datefmt=None):") not in result.text  # docstring folded
    assert _class_code(result.text, "Formatter") == _class_code(text, "Formatter")


def test_file_path_parts_do_not_protect_symbols() -> None:
    text = _read("lru_cache.go")
    args = json.dumps({"path": "pkg/cache/sweep/lru_cache.go"})
    _, result = _compress(text, args=args, query="read the cache package")
    assert "\tticker := time.NewTicker(sweepEvery)" not in result.text


@pytest.mark.parametrize("name", IDS)
def test_deterministic(name: str) -> None:
    text = _read(name)
    first = _compress(text, path=name, query="look at the pool")[1]
    second = _compress(text, path=name, query="look at the pool")[1]
    assert first.text == second.text
    assert first.notes == second.notes


@pytest.mark.parametrize(("sep", "start"), [("\t", 1), ("→", 1), ("\t", 101)])
def test_line_number_prefixes_are_kept_on_every_line(sep: str, start: int) -> None:
    text = _read("ratelimit_client.py")
    numbered = _numbered(text, start, sep)
    segment, result = _compress(numbered, path="ratelimit_client.py")
    out = result.text
    assert result.lossy
    assert result.notes["line_numbers"] == 1
    prefix = re.compile(rf"^ *(\d+){re.escape(sep)}")
    by_number = {int(prefix.match(line).group(1)): line for line in unpadded(numbered).split("\n")}
    previous = 0
    for line in out.split("\n"):
        match = prefix.match(line)
        assert match, line
        number = int(match.group(1))
        assert number > previous  # still in file order, numbers never repeat
        previous = number
        if MARKER_PREFIX not in line:
            assert by_number[number] == line  # kept lines carry their true number
    # Markers give no span: each folds the lines from its number up to the next number shown,
    # as the first marker says once.
    out_lines = out.split("\n")
    markers = [k for k, line in enumerate(out_lines) if MARKER_PREFIX in line]
    assert _code_outline.NUMBERED_LEGEND in out_lines[markers[0]]
    assert all(_code_outline.NUMBERED_LEGEND not in out_lines[k] and " lines " not in out_lines[k] for k in markers[1:])
    at = next(k for k in markers if 'raises ValueError("rate must be positive")' in out_lines[k])
    first, after = (int(prefix.match(out_lines[k]).group(1)) for k in (at, at + 1))
    body = text.split("\n")[first - start : after - start]
    assert any('raise ValueError("rate must be positive")' in line for line in body)
    # Without the prefixes the outline is valid Python.
    ast.parse("\n".join(prefix.sub("", line, count=1) for line in out.split("\n")))
    assert find_refs(out) == [segment.ref]


def test_numbered_lines_need_consecutive_numbers() -> None:
    assert split_line_numbers(["     1\tx = 1", "     2\ty = 2", ""]) is not None
    assert split_line_numbers(["     1\tx = 1", "     3\ty = 2"]) is None
    assert split_line_numbers(["12: a", "13\tb"]) is None
    assert split_line_numbers(["x = 1", "y = 2"]) is None


def test_unparseable_input_passes_through_untouched() -> None:
    garbage = "\n".join(f"}}}} ((( {i} ]] def class :: <<<" for i in range(200))
    _, result = _compress(garbage, path="broken.py")
    assert result.text == garbage
    assert not result.lossy
    assert result.notes.get("unparsed") == 1


def test_truncated_file_is_handled_safely() -> None:
    text = _read("ratelimit_client.py")
    cut = text[: text.index("        if parsed.scheme not in")]  # a read that stopped mid-function
    segment, result = _compress(cut, path="ratelimit_client.py")
    assert count_tokens(result.text) <= count_tokens(cut)
    if result.lossy:
        assert find_refs(result.text) == [segment.ref]
        assert "class TokenBucket:" in result.text
        assert "def request(" in result.text
    else:
        assert result.text == cut


def test_minified_javascript_passes_through() -> None:
    blob = "var a=function(){return 1};" * 200_000  # ~5 MB on one line
    _, result = _compress(blob, path="bundle.min.js")
    assert result.text is blob
    assert not result.lossy
    assert result.notes == {"minified": 1}


def test_small_file_is_returned_untouched() -> None:
    text = "def add(a, b):\n    return a + b\n\n\nMAX = 3\n"
    _, result = _compress(text, path="small.py")
    assert result.text == text
    assert not result.lossy


def test_unknown_language_is_untouched() -> None:
    text = "Some notes about the release.\n\nNothing here is code.\n"
    _, result = _compress(text)
    assert result.text == text
    assert result.notes == {"unknown_language": 1}


def test_missing_grammars_fall_back_to_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_code, "get_parser", lambda language: None)
    text = _read("lru_cache.go")
    _, result = _compress(text, path="lru_cache.go")
    assert result.text == text
    assert result.notes == {"no_tree_sitter": 1}


def test_language_sources() -> None:
    go = _read("lru_cache.go")
    # Explicit segment language wins over everything.
    hinted = CodeCompressor().compress(Segment(go, SegmentContext(file_path="x.py"), ContentKind.CODE, "golang"))
    assert hinted.lossy
    # A path inside the tool arguments.
    _, from_args = _compress(go, args=json.dumps({"path": "internal/lru_cache.go"}))
    assert from_args.lossy
    # Sniffed from content alone.
    _, sniffed = _compress(go)
    assert sniffed.text == from_args.text


@pytest.mark.parametrize(("name", "language", "_s", "_b", "_m"), CASES, ids=IDS)
def test_detect_language_from_content(name: str, language: str, _s: object, _b: object, _m: object) -> None:
    text = _read(name)
    expected = "typescript" if language == "tsx" else language  # JSX appears only further down
    assert detect_language(text, None) == expected
    assert detect_language(_numbered(text), None) == expected
    assert detect_language("", f"a/b/{name}") == language


@pytest.mark.parametrize(
    "text",
    [
        '{"id": 1, "name": "x", "tags": ["a", "b"]}',
        "2024-03-01 12:00:01 ERROR worker-3 connection refused\n2024-03-01 12:00:02 INFO retrying\n",
        "Lib/asyncio/locks.py:434:            raise ValueError('released too many times')\n"
        "Lib/asyncio/locks.py-435-        super().release()\n",
        "The function returns None when nothing matches. Otherwise it returns True.\nelse: see the docs.\n",
        "diff --git a/x.py b/x.py\n@@ -1,3 +1,3 @@\n-def f():\n+def g():\n",
    ],
)
def test_detect_language_rejects_non_code(text: str) -> None:
    assert detect_language(text, None) is None


def test_detect_language_by_path() -> None:
    assert detect_language("anything", "src/app/main.rs") == "rust"
    assert detect_language("def f():\n    pass\n", "notes.md") is None
    assert detect_language("x", "include/pool.hpp") == "cpp"
    assert detect_language("x", "web/App.tsx") == "tsx"


def test_import_headroom_does_not_load_tree_sitter() -> None:
    code = (
        "import sys, headroom, headroom.compressors.source_code\n"
        "print(any(name.startswith('tree_sitter') for name in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_numbered_read_with_header_and_footer() -> None:
    text = _read("lru_cache.go")
    framed = "File: lru_cache.go\n" + _numbered(text, 1, "→") + "\n\n... (file truncated)"
    segment, result = _compress(framed, path="lru_cache.go")
    assert result.lossy
    lines = result.text.split("\n")
    assert lines[0] == "File: lru_cache.go"
    assert lines[-1] == "... (file truncated)"
    stub = next(line for line in lines if "headroom: body" in line and not has_marker(line))
    assert re.match(r"^\d+→\t// \[headroom: body\]$", stub)  # the numbers around it say which lines
    assert find_refs(result.text) == [segment.ref]


def test_file_cut_off_mid_class_still_outlines_the_clean_part() -> None:
    text = _read("ratelimit_client.py")
    cut = text[: text.index("    def get(self, url: str, **kwargs: Any) -> Response:")] + '        """Unterminated\n'
    segment, result = _compress(cut, path="ratelimit_client.py")
    assert result.lossy
    assert result.notes["parse_errors"] == 1
    assert "class TokenBucket:" in result.text
    assert "token bucket wait exceeded the timeout" in result.text
    assert result.text.endswith('        """Unterminated\n')
    assert find_refs(result.text) == [segment.ref]


def test_exports_and_objects_of_methods_stay_visible() -> None:
    py = "__all__ = [\n" + "".join(f"    'exported_name_{i}',\n" for i in range(30)) + "]\n\n"
    py += "TABLE = [\n" + "".join(f"    ('row_{i}', {i}, 'description of entry {i}'),\n" for i in range(30)) + "]\n"
    _, result = _compress(py, path="table.py")
    assert "'exported_name_29'," in result.text  # __all__ is API, never collapsed
    assert "('row_2', 2, 'description of entry 2')," in result.text
    assert "('row_20', 20, 'description of entry 20')," not in result.text
    assert "[headroom: 27 entries, lines 38-64 · ref=" in result.text
    ast.parse(result.text)

    handlers = "".join(
        f"  handler{i}(req, res) {{\n"
        + "".join(f"    const v{j} = compute(req.body.value{j}, {i}, 'step {j}');\n" for j in range(8))
        + "    return res.send(v0);\n  },\n"
        for i in range(4)
    )
    js = "module.exports = {\n" + handlers + "};\n"
    _, result = _compress(js, path="handlers.js")
    assert "  handler3(req, res) {" in result.text  # methods stubbed one by one, not a collapsed table
    assert result.notes["bodies_elided"] == 4
    assert not get_parser("javascript").parse(result.text.encode()).root_node.has_error


def test_namespace_names_do_not_keep_whole_files() -> None:
    text = _read("thread_pool.cpp")
    _, result = _compress(text, path="thread_pool.cpp", query="explain the compute namespace")
    assert result.lossy
    assert "[headroom: body " in result.text


# ---------------------------------------------------------------------------- named symbols


def _stdlib(module: str) -> tuple[str, str]:
    """A whole stdlib source file (the running Python's), and its path as an agent names it."""
    path = Path(importlib.import_module(module).__file__ or "")
    return path.read_text(encoding="utf-8"), f"Lib/{path.relative_to(path.parents[1]).as_posix()}"


def _def_block(text: str, header: str) -> str:
    """The source of the definition starting at the line `header` (up to the next line indented
    as much or less)."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(header))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    while not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])


def test_logging_format_exception_is_named_by_the_task() -> None:
    """Issue 11: "formats exceptions" names `formatException`; other bodies stay folded."""
    text, path = _stdlib("logging")
    query = "look at how the logging module formats exceptions"
    _, plain = _compress(text, path=path)
    segment, result = _compress(text, path=path, query=query, args=json.dumps({"file_path": path}))
    body = _def_block(text, "def formatException(self, ei):")
    assert "traceback.print_exception(" in body
    assert body not in plain.text
    assert body in result.text  # verbatim, every line
    assert "    def formatException(self, ei):" in result.text
    assert "class Formatter(object):" in result.text  # its class's signature stays
    # Only that one is named: `format`, `formatTime`, `Logger.exception` share one word. But
    # `Formatter.format` calls it (`record.exc_text = self.formatException(...)`): the code
    # using what the task names stays whole too, and the rest stays folded.
    assert result.notes["bodies_kept_named"] == 2
    assert result.notes["named_by_pieces"] == 1
    assert result.notes["named_users"] == 1
    format_body = _def_block(text[text.index("class Formatter(object):") :], "def format(self, record):")
    assert "self.formatException(record.exc_info)" in format_body
    assert format_body in result.text
    assert _def_block(text, "def formatTime(self, record, datefmt=None):") not in result.text
    assert result.notes["bodies_elided"] >= plain.notes["bodies_elided"] - 2
    assert find_refs(result.text) == [segment.ref]
    ast.parse(result.text)


def test_a_symbol_grepped_for_in_the_tool_call_keeps_its_body() -> None:
    text, path = _stdlib("http.client")
    body = _def_block(text, "def _read_headers(fp):")
    _, plain = _compress(text, path=path)
    assert body not in plain.text
    grep = json.dumps({"pattern": r"def\s+_read_headers", "path": "Lib/http", "output_mode": "content"})
    _, result = _compress(text, path=path, args=grep)
    assert body in result.text
    assert result.notes["named_exact"] == 1
    # `output_mode`'s value and the pattern's keyword are not names.
    assert result.notes["bodies_kept_named"] == 1
    # A shell grep for a class keeps all of the class's code.
    shell = json.dumps({"command": 'grep -n "class HTTPResponse" Lib/http/client.py'})
    _, whole = _compress(text, path=path, args=shell)
    assert _class_code(whole.text, "HTTPResponse") == _class_code(text, "HTTPResponse")
    assert _def_block(text, "def _read_headers(fp):") not in whole.text


def test_word_pieces_and_stems() -> None:
    assert source_code.word_pieces("formatException") == ("format", "exception")
    assert source_code.word_pieces("_read_headers") == ("read", "header")
    assert source_code.word_pieces("HTTPResponse") == ("http", "respons")
    assert source_code.word_pieces("parse_retry_after2") == ("pars", "retri", "after")
    assert source_code.word_pieces("__init__") == ()  # common code words say nothing
    assert source_code.word_pieces("get_value") == ()
    stem = source_code.stem
    for a, b in [
        ("formats", "format"),
        ("exceptions", "exception"),
        ("headers", "header"),
        ("reading", "read"),
        ("parsed", "parse"),
        ("parsing", "parse"),
        ("entries", "entry"),
        ("cookies", "cookie"),
        ("copied", "copy"),
        ("policies", "policy"),
        ("keys", "key"),
        ("formatting", "format"),
        ("responses", "response"),
        ("caches", "cache"),
        ("classes", "class"),
        ("lexing", "lex"),
        ("stopped", "stop"),
    ]:
        assert stem(a) == stem(b), (a, b)
    for a, b in [("string", "str"), ("status", "statu"), ("reader", "read"), ("process", "proces")]:
        assert stem(a) != stem(b), (a, b)


def test_task_names_from_query_and_arguments() -> None:
    names = source_code.task_names(
        SegmentContext(
            user_query="Read the logging module: how does it format exceptions?", file_path="Lib/logging/x.py"
        )
    )
    assert names.pieces == ("format", "exception")  # "Read" opens the sentence, "logging" is the path
    names = source_code.task_names(
        SegmentContext(
            user_query="why does Formatter.format drop the stack?", tool_arguments='{"pattern": "def\\\\s+emit"}'
        )
    )
    assert {"format", "emit"} <= names.exact
    assert ("formatter", "format") in names.qualified
    assert "def" not in names.exact
    system = (
        "<system-reminder>\nCLAUDE.md says: use make_msgid and parse_retry_after\n</system-reminder>\nthanks, go on"
    )
    assert source_code.task_names(SegmentContext(user_query=system)).is_empty()


def test_qualified_name_keeps_only_that_class_method() -> None:
    text, path = _stdlib("logging")
    _, result = _compress(text, path=path, query="why does Formatter.format drop the stack?")
    assert "        record.message = record.getMessage()\n" in result.text  # Formatter.format
    assert "            rv = rv + self.formatFooter(records)\n" in text  # BufferingFormatter.format
    assert "            rv = rv + self.formatFooter(records)\n" not in result.text
    assert result.notes["named_exact"] == 1


def test_a_vague_task_does_not_unfold_the_file() -> None:
    text, path = _stdlib("logging")
    query = (
        "We log debug, info, warning, error and critical messages, with exceptions; records go through "
        "filters, handlers emit and flush them, formatters format them, and loggers close, acquire and release."
    )
    _, plain = _compress(text, path=path)
    _, result = _compress(text, path=path, query=query)
    kept = result.notes.get("named_by_pieces", 0)
    assert kept >= 1
    growth = count_tokens(result.text) - count_tokens(plain.text)
    assert 0 < growth <= source_code.NAMED_BUDGET_MAX
    assert result.notes["bodies_elided"] >= plain.notes["bodies_elided"] - kept
    assert count_tokens(result.text) < 0.75 * count_tokens(text)


def test_a_longer_piece_match_beats_one_shared_word() -> None:
    from headroom.compressors._code_outline import Symbol

    def sym(name: str, key: int, tokens: int = 100) -> Symbol:
        return Symbol(name, None, False, key, key, key + 5, tokens)

    symbols = [sym("format", 1), sym("formatException", 2), sym("exception", 3), sym("formatStack", 4)]
    names = source_code.TaskNames(pieces=("format", "exception"))
    kept, exact, fuzzy = source_code.select_named(symbols, names, budget=10_000)
    assert kept == {2} and exact == 0 and fuzzy == 1
    # Single-word matches share half the budget, rarest first, deterministic.
    names = source_code.TaskNames(pieces=("format",))
    kept, _, fuzzy = source_code.select_named(symbols, names, budget=250)
    assert kept == {1} and fuzzy == 1
    assert source_code.select_named(symbols, names, budget=250) == (kept, 0, 1)


def test_a_phrase_match_beats_pieces_scattered_over_the_task() -> None:
    """A phrase ("formats exceptions") names `formatException`; "formats" ... "csv-style" does not name
    `StrFormatStyle`, though both cover all of their word pieces."""
    text, path = _stdlib("logging")
    query = "check how logging formats exceptions; we write a csv-style output"
    _, result = _compress(text, path=path, query=query)
    assert _def_block(text, "def formatException(self, ei):") in result.text
    loop = "            for _, fieldname, spec, conversion in _str_formatter.parse(self._fmt):"
    assert loop in text.split("\n")
    assert loop not in result.text.split("\n")  # StrFormatStyle.validate stays folded
    assert result.notes["named_by_pieces"] == 1

    def sym(name: str, key: int) -> _code_outline.Symbol:
        return _code_outline.Symbol(name, None, False, key, key, key + 5, 100)

    symbols = [sym("formatException", 1), sym("StrFormatStyle", 2)]
    names = source_code.task_names(SegmentContext(user_query="it formats exceptions in csv style"))
    assert source_code.select_named(symbols, names, budget=10_000) == (frozenset({1}), 0, 1)
    # Without a phrase in the tier, every full match competes as before.
    names = source_code.task_names(SegmentContext(user_query="exceptions: we format them in csv style"))
    assert source_code.select_named(symbols, names, budget=10_000) == (frozenset({1, 2}), 0, 2)


# A task phrase (no identifier in it) naming one function per language; the body line must show.
NAMED_CASES = [
    ("ratelimit_client.py", "the retry-after parsing looks wrong", "        return float(value)"),
    ("router.js", "how are query strings parsed?", "      query[key] = [].concat(query[key], value);"),
    ("event_store.ts", "where do we load snapshots from disk", "      const data = await fs.readFile(file);"),
    ("lru_cache.go", "when does the cache sweep run", "\t\t\t\t\tc.stats.Expired++"),
    ("lexer.rs", "how are numbers lexed", "            kind = TokenKind::Float;"),
    ("ConnectionPool.java", "we are evicting idle connections too early", "                evicted++;"),
    (
        "thread_pool.cpp",
        "the worker loop never exits",
        "            cv_.wait(lock, [this] { return !queue_.empty() || state_ == PoolState::Stopped; });",
    ),
]


@pytest.mark.parametrize(("name", "query", "kept_line"), NAMED_CASES, ids=[c[0] for c in NAMED_CASES])
def test_word_pieces_name_a_function_in_every_language(name: str, query: str, kept_line: str) -> None:
    text = _read(name)
    assert kept_line in text.split("\n")
    _, plain = _compress(text, path=name)
    assert kept_line not in plain.text.split("\n")
    _, result = _compress(text, path=name, query=query)
    assert kept_line in result.text.split("\n")
    assert result.notes["named_by_pieces"] >= 1
    assert result.notes["bodies_elided"] >= 2


# ---------------------------------------------------------------------------- cheaper outlines


def test_numbered_read_drops_blank_lines_between_declarations_only() -> None:
    text = _read("ratelimit_client.py")
    numbered = _numbered(text)
    _, raw = _compress(text, path="ratelimit_client.py")
    _, result = _compress(numbered, path="ratelimit_client.py", query="the retry-after parsing looks wrong")
    blank = re.compile(r"^ *\d+\t\s*$")
    out_lines = result.text.split("\n")
    assert result.notes["blank_lines_dropped"] >= 20
    # The named function keeps its inner blank line; between declarations none are left.
    body = _def_block(text, "def parse_retry_after(")
    inner_blank = next(i for i, line in enumerate(body.split("\n")) if not line.strip())
    first = text.split("\n").index(body.split("\n")[0]) + 1
    assert f"\n{first + inner_blank}\t\n" in result.text  # numbered without padding
    blank_left = [int(line.split("\t")[0]) for line in out_lines if blank.match(line)]
    assert len(blank_left) <= 4  # inside the kept body, a kept docstring paragraph, the final newline
    lines = text.split("\n")
    start = lines.index("class ResponseCache:")
    assert not lines[start - 1] and not lines[start - 2]
    assert start not in blank_left and start - 1 not in blank_left  # 1-based numbers of those two
    # Unnumbered, a blank line costs nothing ("\n\n" is one token): the layout stays.
    assert "\n\n\nclass TokenBucket:" in raw.text
    ast.parse("\n".join(re.sub(r"^ *\d+\t", "", line) for line in out_lines))


def test_number_prefixes_count_in_what_a_fold_saves() -> None:
    # A 3-line body is not worth a ~14-token marker, plus 3 "   123\t" prefixes it is.
    src = "".join(
        f"def step_{i}(event, context):\n"
        f"    first = compute(event, {i})\n"
        f"    second = compute(context, {i})\n"
        f"    return merge(first, second)\n\n\n"
        for i in range(30)
    )
    _, raw = _compress(src, path="steps.py")
    _, numbered = _compress(_numbered(src), path="steps.py")
    assert raw.notes.get("bodies_elided", 0) == 0
    assert numbered.notes["bodies_elided"] == 30
    assert count_tokens(numbered.text) < 0.7 * count_tokens(_numbered(src))


def test_markers_are_short() -> None:
    _, result = _compress(_read("lru_cache.go"), path="lru_cache.go")
    markers = [line for line in result.text.split("\n") if MARKER_PREFIX in line]
    assert markers
    for line in markers:
        summary = re.sub(r"( · ref=h_[0-9a-f]{12})?\]$", "", line.split("[headroom: ", 1)[1])
        assert re.fullmatch(r"(body|docstring|comment|imports,|\d+ entries,) lines \d+-\d+(; .*)?", summary), line


def test_a_folded_docstring_tail_closes_on_the_marker_line() -> None:
    text, path = _stdlib("asyncio.queues")
    segment, result = _compress(text, path=path)
    lines = result.text.split("\n")
    # `full()`: docstring tail, closing quotes and code are one marker line that closes the docstring.
    at = lines.index("    def full(self):")
    assert lines[at + 1] == '        """Return True if there are maxsize items in the queue.'
    assert re.fullmatch(r'        \[headroom: body lines \d+-\d+(?: · ref=h_[0-9a-f]{12})?\]"""', lines[at + 2])
    # A class docstring trimmed alone closes on its marker line too.
    at = lines.index("class Queue(mixins._LoopBoundMixin):")
    assert re.fullmatch(r'    \[headroom: docstring lines \d+-\d+(?: · ref=h_[0-9a-f]{12})?\]"""', lines[at + 2])
    ast.parse(result.text)
    assert find_refs(result.text) == [segment.ref]


def test_a_raise_message_on_the_next_line_stays_on_the_marker_line() -> None:
    src = "def check(path, mode):\n" + "".join(
        f"    if mode == {i}:\n        value_{i} = compute(path, {i})\n" for i in range(8)
    )
    src += (
        '    raise FileNotFoundError(errno.ENOENT,\n                            "no usable directory in %s" % path)\n'
    )
    _, result = _compress(src, path="check.py")
    stub = next(line for line in result.text.split("\n") if has_marker(line))
    assert 'raises FileNotFoundError(errno.ENOENT, "no usable directory in %s" ...)' in stub
    ast.parse(result.text)


def test_a_raise_with_arguments_no_literal_shows_names_its_class() -> None:
    # Starlette's `_get_form`: the error that reaches the client is raised with keyword arguments.
    src = "def get_form(self, parser):\n" + "".join(
        f"    if parser.step == {i}:\n        value_{i} = parser.feed(self, {i})\n" for i in range(8)
    )
    src += (
        "    try:\n        return parser.parse()\n    except MultiPartException as exc:\n"
        "        raise HTTPException(status_code=400, detail=exc.message)\n"
        "    except Disconnected:\n        raise ClientDisconnect\n    raise ClientDisconnect()\n"
    )
    _, result = _compress(src, path="requests.py")
    stub = next(line for line in result.text.split("\n") if has_marker(line))
    assert "; raises ClientDisconnect, HTTPException(...)" in stub
    ast.parse(result.text)


def test_word_pieces_of_the_task_keep_the_named_body_in_the_real_logging_module() -> None:
    """Issue 14: "look at how the logging module formats exceptions" names formatException by its
    word pieces (formats + exceptions), so its body stays whole in CPython's logging/__init__.py
    while the other bodies fold."""
    text = Path(importlib.import_module("logging").__file__ or "").read_text(encoding="utf-8")
    # The body as this Python's logging module writes it (it changes between versions).
    functions = (node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.FunctionDef))
    function = next(node for node in functions if node.name == "formatException")
    lines = text.split("\n")[function.body[0].lineno - 1 : function.end_lineno]
    call = next(line for line in lines if "print_exception(" in line)
    _, plain = _compress(text, path="Lib/logging/__init__.py")
    assert call not in plain.text
    _, result = _compress(
        text, path="Lib/logging/__init__.py", query="Look at how the logging module formats exceptions"
    )
    assert all(line in result.text for line in lines)  # the whole body, every line as written
    assert "def formatStack(self, stack_info):" in result.text
    assert "return stack_info" not in result.text  # a body the task does not name is still folded


# ---------------------------------------------------------------------------- refs and comments


def _marker_spans(text: str) -> list[tuple[int, str]]:
    """(character offset, marker line) of every marker line of an outline."""
    spans, offset = [], 0
    for line in text.split("\n"):
        if MARKER_PREFIX in line:
            spans.append((offset, line))
        offset += len(line) + 1
    return spans


@pytest.mark.parametrize("numbered", [False, True])
def test_the_ref_rides_on_the_first_marker_and_then_every_few_thousand_characters(numbered: bool) -> None:
    text, path = _stdlib("asyncio.base_events")
    text = _numbered(text) if numbered else text
    segment, result = _compress(text, path=path)
    spans = _marker_spans(result.text)
    with_ref = [offset for offset, line in spans if has_marker(line)]
    assert len(spans) >= 40
    assert spans[0][0] == with_ref[0]  # the first marker names the ref
    assert len(with_ref) * 4 < len(spans)  # most markers cite only their lines
    for offset, line in spans:
        if has_marker(line):
            continue
        # A marker without the ref has one a few thousand characters back (the planner counts
        # code, not the number prefixes of marker lines: hence the slack).
        nearest = max(at for at in with_ref if at <= offset)
        assert offset - nearest < 1.2 * REF_EVERY_CHARS, line
    assert find_refs(result.text) == [segment.ref]
    detected = detect(result.text[:8_000])  # the router's sniff window still sees an outline
    assert detected.kind is ContentKind.COMPRESSED


@pytest.mark.parametrize("numbered", [False, True])
def test_a_marker_without_the_ref_is_retrievable_by_its_lines(numbered: bool) -> None:
    text, path = _stdlib("asyncio.base_events")
    source = _numbered(text) if numbered else text
    store = MemoryStore()
    out, report = Pipeline(store=store).compress_text(source, SegmentContext(file_path=path), kind=ContentKind.CODE)
    (ref,) = find_refs(out)
    assert report.ref == ref
    lines = out.split("\n")
    bare = [k for k, line in enumerate(lines) if "[headroom: body" in line and not has_marker(line)]
    assert len(bare) >= 20
    assert all((" lines " in lines[k]) is not numbered for k in bare)  # numbered: the numbers say where
    for k in bare[::7]:
        first, last = _folded_lines(out, k)
        got = retrieve(store, ref, lines=f"{first}-{last}")
        assert got.found
        folded = source.split("\n")[first - 1 : last]
        assert got.text == "\n".join(folded)  # the body, with its numbers when it had them
        assert any(line.strip() for line in folded) and len(folded) > 1


COMMENTED = """\
# Pool tuning notes: the first line of a block stays.
# Sizes were measured on the staging cluster under a synthetic load test.
# Raising the limit beyond this needs a matching change in the proxy config.
# See the runbook for how the numbers were chosen and when to revisit them.
POOL_LIMIT = 64


class Pool:
    # A class-level note: connections are handed out in LIFO order.
    # Keeping the most recently used connection warm avoids TLS handshakes.
    # The idle sweeper closes the ones at the bottom of the stack.

    size = 4

    def borrow(self, timeout):
        # Borrowing waits on the condition until a connection is free or
        # the timeout expires; a timeout of None waits forever, which the
        # batch workers rely on when the database is being failed over.
        deadline = compute_deadline(timeout)
        with self.condition:
            while not self.free:
                self.condition.wait(remaining(deadline))
        return self.free.pop()

    # Draining closes every idle connection and waits for borrowed ones:
    # the shutdown hook calls it with a deadline from the service config,
    # and anything still borrowed after that deadline is closed by force.
    def drain_connections(self, deadline):
        # Close the idle ones first: nobody can be waiting on those.
        for connection in self.free:
            connection.close()
        self.free.clear()
        self.wait_for_borrowed(deadline)
"""


def test_comment_blocks_keep_their_first_line_unless_they_describe_a_named_symbol() -> None:
    lines = COMMENTED.split("\n")
    _, result = _compress(COMMENTED, path="pool.py")
    out = result.text
    ast.parse(out)
    assert "# Pool tuning notes: the first line of a block stays.\n# [headroom: comment lines 2-4" in out
    assert "POOL_LIMIT = 64" in out and "    size = 4" in out
    # Comments before a class body's first statement are the class's, and fold the same way.
    note = "    # A class-level note: connections are handed out in LIFO order."
    assert f"{note}\n    # [headroom: comment lines 10-11]" in out
    assert "Keeping the most recently used connection warm" not in out
    # A folded function's leading comment goes with its body: the stub starts at the comment.
    borrow = lines.index("    def borrow(self, timeout):") + 1
    assert f"    def borrow(self, timeout):\n        ... # [headroom: body lines {borrow + 1}-" in out
    assert "Borrowing waits on the condition" not in out
    assert result.notes["comments_collapsed"] == 3

    # Named by the task: the function's own comments and the block above it stay whole.
    _, named = _compress(COMMENTED, path="pool.py", query="why does drain_connections hang on shutdown?")
    start = COMMENTED.index("    # Draining closes every idle connection")
    assert COMMENTED[start:] in named.text
    assert "Keeping the most recently used connection warm" not in named.text


def test_numbered_class_comments_fold_and_their_blank_lines_go() -> None:
    numbered = _numbered(COMMENTED)
    _, result = _compress(numbered, path="pool.py")
    lines = COMMENTED.split("\n")
    blank = lines.index("    size = 4")  # 0-based row of `size = 4` is the 1-based number of the blank above it
    assert not lines[blank - 1].strip()
    assert f"{blank:6d}\t\n" in numbered
    assert f"\n{blank}\t" not in result.text
    assert f"\n{blank + 1}\t    size = 4" in result.text
    assert (
        "\n9\t    # A class-level note: connections are handed out in LIFO order.\n10\t    # [headroom:" in result.text
    )


@pytest.mark.parametrize("numbered", [False, True])
def test_an_enums_members_fold_like_a_table_and_the_marker_names_each(numbered: bool) -> None:
    """The running Python's `http.HTTPStatus`: sixty-odd `NAME = code, phrase` members. The first
    rows stay, the marker names every other member and its lines retrieve them exactly."""
    text, path = _stdlib("http")
    source = _numbered(text) if numbered else text
    store = MemoryStore()
    context = SegmentContext(user_query="How does http.client limit the headers it reads?", file_path=path)
    out, _ = Pipeline(store=store).compress_text(source, context, kind=ContentKind.CODE)
    (at,) = [k for k, line in enumerate(out.split("\n")) if "more members" in line]
    line = out.split("\n")[at]
    first, last = _folded_lines(out, at)
    folded = text.split("\n")[first - 1 : last]
    names = [m.group(1) for row in folded if (m := re.match(r"    ([A-Z_]+) = ", row))]
    assert "NOT_FOUND" in names and "IM_A_TEAPOT" in names
    listed = re.search(r"more members(?:, lines \d+-\d+)?: (.*?)(?:; each marker [^·]*)?(?: · ref=h_\w+)?\]$", line)[1]
    assert listed.split(", ") == names  # each member named, in order
    assert "    CONTINUE = 100, 'Continue', 'Request received, please continue'" in out  # first rows stay
    assert "IM_A_TEAPOT = (418" not in out
    (ref,) = find_refs(out)
    got = retrieve(store, ref, lines=f"{first}-{last}")
    assert got.text == "\n".join(source.split("\n")[first - 1 : last])


def test_a_member_the_task_names_keeps_its_table() -> None:
    text, path = _stdlib("http")
    context = SegmentContext(user_query="Which phrase does `IM_A_TEAPOT` carry?", file_path=path)
    out, _ = Pipeline(store=MemoryStore()).compress_text(text, context, kind=ContentKind.CODE)
    assert "more members" not in out.split("class HTTPMethod")[0]
    assert "IM_A_TEAPOT = (418, 'I\\'m a Teapot'," in out


def test_annotated_fields_of_a_dataclass_do_not_fold_as_members() -> None:
    """`retries: int = 3  # …`: a field's type, default and comment are the class's API."""
    fields = "\n".join(f"    retries_{i}: int = {i * 7}  # what knob {i} controls" for i in range(14))
    functions = "\n".join(f"def step_{i}(x):\n    y = x + {i}\n    return y * 2\n" for i in range(20))
    header = 'from dataclasses import dataclass\n\n\n@dataclass(frozen=True)\nclass Options:\n    """Knobs."""\n'
    source = f"{header}\n{fields}\n\n{functions}"
    context = SegmentContext(user_query="explain this module", file_path="opts.py")
    out, _ = Pipeline(store=MemoryStore()).compress_text(source, context, kind=ContentKind.CODE)
    assert "more members" not in out
    assert all(f"    retries_{i}: int = {i * 7}  # what knob {i} controls" in out for i in range(14))


def test_doc_comments_of_interface_members_fold_like_other_comments() -> None:
    """A TypeScript types module is mostly interfaces whose fields carry long doc comments: they
    fold to their first line as comments anywhere else do; every field stays."""
    fields = "".join(
        f"  /**\n   * The {name} of the thing, as the service returns it. It is set when the thing is made\n"
        "   * and never changes afterwards; clients compare it byte for byte, so it is not normalized,\n"
        "   * trimmed or case-folded on the way, and an empty value means the service did not say.\n"
        "   * See the service's reference for the values it uses today.\n   */\n"
        f"  {name}: string;\n\n"
        for name in ("id", "name", "kind", "owner", "region", "status")
    )
    ts = f"export interface Thing {{\n{fields}}}\n"
    _, result = _compress(ts, path="types.ts")
    for name in ("id", "name", "kind", "owner", "region", "status"):
        assert f"  {name}: string;" in result.text
        assert f"   * The {name} of the thing, as the service returns it." in result.text
    assert "never changes afterwards" not in result.text and "[headroom: comment lines" in result.text
    assert not get_parser("typescript").parse(result.text.encode()).root_node.has_error


def _filler_function(name: str, rows: int = 14) -> str:
    body = "\n".join(f"    total += {name}_step_{k}(value, {k})" for k in range(rows))
    return f"def {name}(value):\n    total = 0\n{body}\n    return total\n"


def test_the_code_using_what_the_task_names_keeps_its_body() -> None:
    """A task asking "how does it decide keep-alive": `_keep_alive` is named; the functions reading and setting
    `keep_alive` (or calling `disable_keep_alive()`) are where the rule lives and stay whole.
    A function sharing one plain word ("connection") is not followed."""
    uses_state = _filler_function("close_state", 12).replace(
        "    total = 0\n", "    total = 0\n    if not state.keep_alive:\n        state.must_close = True\n"
    )
    calls_disable = _filler_function("on_response", 12).replace(
        "    total = 0\n", "    total = 0\n    if value.http_version < 11:\n        value.disable_keep_alive()\n"
    )
    one_word = _filler_function("reset_connection", 12).replace(
        "    total = 0\n", "    total = 0\n    connection = value.connection\n"
    )
    parts = [
        "def _keep_alive(event):\n    return b'close' not in event.headers\n",
        *(_filler_function(f"helper_{k}") for k in range(12)),
        uses_state,
        calls_disable,
        one_word,
    ]
    text = "\n\n".join(parts)
    query = "Our server closes connections clients expect to keep alive. How does it decide keep-alive?"
    _, result = _compress(text, path="pkg/conn.py", query=query)
    assert "        state.must_close = True" in result.text
    assert "        value.disable_keep_alive()" in result.text
    assert result.notes["named_users"] == 2
    assert "    connection = value.connection" not in result.text
    assert "helper_3_step_5" not in result.text
    # Without a phrase of the task in them, the same bodies stay folded; two words side by side
    # only across a sentence's end are no phrase.
    _, plain = _compress(text, path="pkg/conn.py", query="Our server closes connections. Why?")
    assert "        state.must_close = True" not in plain.text
    assert "named_users" not in plain.notes
    _, split = _compress(text, path="pkg/conn.py", query="What do we keep? Alive sessions hang. Why?")
    assert "named_users" not in split.notes
    # An acronym is a word of the task, not code: "the SSL handshake" pairs its words.
    assert ("ssl", "handshak") in source_code.task_names(
        SegmentContext(user_query="Why does the SSL handshake fail?")
    ).pairs
    # A task writing the symbol as code points at that symbol: its body, not its users.
    _, exact = _compress(text, path="pkg/conn.py", query="Make `_keep_alive` also check the protocol.")
    assert "    return b'close' not in event.headers" in exact.text
    assert "named_users" not in exact.notes


def test_a_concept_used_everywhere_unfolds_only_a_share_of_the_file() -> None:
    parts = [
        _filler_function(f"step_{k}", 14).replace("    total = 0\n", "    total = value.keep_alive\n")
        for k in range(40)
    ]
    text = "\n\n".join(parts)
    _, result = _compress(text, path="pkg/steps.py", query="how is keep-alive used?")
    users = result.notes["named_users"]
    assert 0 < users < 40 * source_code.USERS_BUDGET_SHARE * 1.2
    assert count_tokens(result.text) < 0.5 * count_tokens(text)


@pytest.mark.parametrize("identifier", ["keepAlive", "$keepAlive", "keepAlive$"])
def test_an_identifier_with_a_dollar_names_the_concept_too(identifier: str) -> None:
    functions = []
    for i in range(40):
        first = f"  var y = x.{identifier}(x) + 1;" if i % 8 == 0 else "  var y = x + 1;"
        steps = "\n".join(f"  y += step{k}(y);" for k in range(12))
        functions.append(f"function h{i}(x) {{\n{first}\n{steps}\n  return y;\n}}")
    segment = Segment(
        "\n".join(functions),
        SegmentContext(user_query="how does keep alive work", file_path="lib/a.js"),
        ContentKind.CODE,
        "javascript",
    )
    assert CodeCompressor().compress(segment).notes.get("named_users") == 5


def test_a_folded_body_names_the_warnings_it_emits() -> None:
    # genai-prices' price check: the warning the task asks to reword sits in a folded body.
    src = "import warnings\n\n\ndef check_prices(prices, allowed):\n" + "".join(
        f"    total_{i} = sum(p.value_{i} for p in prices)\n" for i in range(10)
    )
    src += (
        "    bad_keys = set(prices) - allowed\n    if bad_keys:\n"
        "        warnings.warn(\n            f'Unsupported price key for standard pricing: {bad_keys}',\n"
        "            stacklevel=2,\n        )\n    return total_0\n"
    )
    _, result = _compress(src, path="types.py")
    stub = next(line for line in result.text.split("\n") if has_marker(line))
    assert "; warns f'Unsupported price key for standard pricing: {bad_keys}'" in stub
    ast.parse(result.text)


def _price_checks() -> str:
    """Functions that each check a kind of key, one warning about unsupported price keys."""
    src = "import warnings\n\n"
    for kind in ("usage", "extractor", "price", "tier", "unit"):
        message = f"Unsupported {kind} key for standard pricing" if kind != "extractor" else "Bad extractor"
        src += f"\ndef check_{kind}s(values, allowed):\n" + "".join(
            f"    total_{i} = sum(v.{kind}_{i} for v in values)\n" for i in range(8)
        )
        src += (
            "    bad_keys = set(values) - allowed\n    if bad_keys:\n"
            f"        warnings.warn(f'{message}: {{bad_keys}}', stacklevel=2)\n    return total_0\n\n"
        )
    return src


def test_the_body_saying_the_message_the_task_hyphens_stays_whole() -> None:
    src = _price_checks()
    query = "Make the unsupported-price-key warning say that those keys are ignored."
    _, result = _compress(src, path="types.py", query=query)
    assert "    total_7 = sum(v.price_7 for v in values)" in result.text  # check_prices whole
    assert "    total_7 = sum(v.usage_7 for v in values)" not in result.text  # the others fold
    assert "warns f'Unsupported usage key for standard pricing: {bad_keys}'" in result.text
    ast.parse(result.text)


@pytest.mark.parametrize(
    "call",
    [
        r'warnings.warn(r"C:\Users\{name} is deprecated")',
        r'raise ValueError(r"use \N instead")',
        'warnings.warn(\'three quotes """ in it\')',
        'warnings.warn("plain message")',
    ],
)
def test_a_marker_inside_a_folded_docstring_still_parses(call: str) -> None:
    """A body whose docstring's tail folds ends in a marker inside the docstring: a message with
    a backslash or the closing quotes is left out there, so the outline stays Python."""
    src = (
        "import warnings\n\n\ndef full(self, prices):\n"
        '    """Return True if there are maxsize items in the queue.\n\n'
        "    Note: if the Queue was initialized with maxsize=0 (the default),\n"
        "    then full() is never True, and the other notes below explain more of it.\n"
        '    """\n'
        + "".join(f"    total_{i} = sum(p.value_{i} for p in prices)\n" for i in range(10))
        + f"    {call}\n    return total_0\n"
    )
    _, result = _compress(src, path="q.py")
    assert has_marker(result.text)
    ast.parse(result.text)
    if "plain" in call:
        assert 'warns "plain message"' in result.text


def test_the_one_method_a_task_word_names_keeps_its_body_past_half_the_budget() -> None:
    """ "How does HashMap resize when the table is full?": one task word names `resize()`, whose
    body (764 tokens in the JDK's HashMap) is over half the named-bodies budget. One shared
    word halves the budget for the rest (a vague task unfolds few bodies), but the best-ranked
    body may take the whole of it."""
    fillers = "".join(
        f"    def helper_{n}(self, item):\n"
        + "".join(f"        item = self.step_{n}_{k}(item, {k})\n" for k in range(12))
        + "        return item\n\n"
        for n in range(150)
    )
    resize = "    def resize(self):\n" + "".join(
        f"        new_capacity_{k} = self.capacity * 2 + {k}  # double the table and rehash bucket {k}\n"
        for k in range(60)
    )
    text = "class Table:\n" + fillers + resize + "        return new_capacity_0\n"
    tokens = count_tokens(resize)
    budget = min(
        max(int(len(text) / 4 * source_code.NAMED_BUDGET_SHARE), source_code.NAMED_BUDGET_MIN),
        source_code.NAMED_BUDGET_MAX,
    )
    assert budget // 2 < tokens <= budget
    _, result = _compress(text, path="table.py", query="How does the table resize when it is full?")
    assert "double the table and rehash bucket 59" in result.text
