"""Search-result compressor: every match line stays, context goes, markers say what went."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import find_refs, has_marker
from headroom.compressors.passthrough import normalize_whitespace
from headroom.compressors.search import SearchCompressor, SearchOptions, looks_like_search
from headroom.segments import ContentKind, Segment, SegmentContext
from headroom.tokens import count_tokens

FIXTURES = Path(__file__).parent.parent / "fixtures" / "search"
COMPRESSOR = SearchCompressor()
GREP_MATCH = re.compile(r"^([^\s:]+):(\d+):", re.M)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def compress(text: str, query: str = "", args: str = "", options: SearchOptions | None = None):
    segment = Segment(text, SegmentContext("run_grep", args, query), ContentKind.SEARCH)
    compressor = SearchCompressor(options) if options else COMPRESSOR
    return compressor.compress(segment), segment


# --- grep -n -C text --------------------------------------------------------------------


def test_grep_keeps_every_match_line_and_drops_context() -> None:
    text = fixture("grep_context.txt")
    result, segment = compress(text, "Where is the default socket timeout set?", '{"pattern": "timeout *="}')
    assert result.lossy
    original_matches = GREP_MATCH.findall(text)
    assert len(original_matches) == 38
    assert GREP_MATCH.findall(result.text) == original_matches  # all of them, in input order
    assert find_refs(result.text) == [segment.ref]
    assert result.text.startswith("[headroom: ")
    assert "context lines omitted" in result.text.splitlines()[0]
    context_lines = [line for line in result.text.splitlines() if re.match(r"^[^\s:]+-\d+-", line)]
    assert len(context_lines) <= 12
    assert count_tokens(result.text) < 0.3 * count_tokens(text)
    assert result.notes["matches_kept"] == 38 and result.notes["matches_dropped"] == 0


def test_grep_file_line_pairs_and_signatures_stay_visible() -> None:
    result, _ = compress(fixture("grep_context.txt"), "socket connection timeouts")
    assert "socket.py:809:def create_connection(address, timeout=_GLOBAL_DEFAULT_TIMEOUT," in result.text
    assert "subprocess.py:1257: def wait(self, timeout=None):" in result.text


def test_context_near_best_hits_is_kept() -> None:
    # A matching signature keeps the docstring below it.
    result, _ = compress(fixture("grep_context.txt"), "selectors select timeout", '{"pattern": "timeout"}')
    assert 'selectors.py-156- """Perform the actual selection, until some monitored file objects are' in result.text


def test_a_matching_constant_keeps_the_constants_defined_right_below_it() -> None:
    # `grep -C 2 TIMEOUT`: the block of defaults after the match is what "what is set right after
    # it?" asks about; unrelated context (a closing paren, a return) still goes.
    text = "\n".join(
        [
            "pkg/_config.py-244-",
            "pkg/_config.py-245-",
            "pkg/_config.py:246:DEFAULT_TIMEOUT_CONFIG = Timeout(timeout=5.0)",
            "pkg/_config.py-247-DEFAULT_LIMITS = Limits(max_connections=100, max_keepalive_connections=20)",
            "pkg/_config.py-248-DEFAULT_MAX_REDIRECTS = 20",
            "--",
            *(
                f"pkg/_client.py-{n - 1}-        )\npkg/_client.py:{n}:        timeout = self._timeout\n"
                f"pkg/_client.py-{n + 1}-        return request\n--"
                for n in range(100, 1600, 50)
            ),
        ]
    )
    result, _ = compress(text, "Where does it set its default timeout?", '{"pattern": "timeout"}')
    assert result.lossy
    assert "pkg/_config.py-247-DEFAULT_LIMITS = Limits(" in result.text
    assert "pkg/_config.py-248-DEFAULT_MAX_REDIRECTS = 20" in result.text
    assert "return request" not in result.text


def test_vague_matches_get_their_enclosing_definition() -> None:
    lines = []
    for i, name in enumerate(["parse_date", "parse_addr", "parse_header", "parse_token"]):
        base = 10 + i * 20
        lines += [
            f"email/utils.py-{base}-def {name}(value):",
            f"email/utils.py-{base + 1}-    if not value:",
            f"email/utils.py:{base + 2}:        return None",
            f"email/utils.py-{base + 3}-    return value.strip()",
            "--",
        ]
    text = "\n".join(lines[:-1])
    result, _ = compress(text, "which parsers return None", options=SearchOptions(scope_share=2.0))
    for i, name in enumerate(["parse_date", "parse_addr", "parse_header", "parse_token"]):
        assert f"email/utils.py-{10 + i * 20}-def {name}(value):" in result.text
        assert f"email/utils.py:{12 + i * 20}: return None" in result.text
    assert "if not value" not in result.text


def test_overlapping_windows_are_deduplicated() -> None:
    text = fixture("grep_context.txt")
    doubled = text + "--\n" + text  # the same search pasted twice
    result, _ = compress(doubled)
    assert "duplicate lines removed" in result.text
    assert GREP_MATCH.findall(result.text) == GREP_MATCH.findall(text)


def test_terms_rank_hits_when_the_budget_forces_drops() -> None:
    lines = []
    for f in range(120):  # more files than the budget has first lines for
        for n in range(1, 41):
            word = "needle_limit" if (f, n) == (17, 33) else "filler"
            lines.append(f"pkg/mod{f:02d}.py:{n * 3}:    value = compute_{word}({n})")
    text = "\n".join(lines)
    options = SearchOptions(match_budget_chars=4_000, match_budget_ratio=0.0)
    result, segment = compress(text, "where is the needle_limit computed?", options=options)
    assert result.lossy
    assert "pkg/mod17.py:99: value = compute_needle_limit(33)" in result.text
    assert result.notes["matches_dropped"] > 0
    assert "more matches in pkg/mod17.py (lines " in result.text  # per-file marker with ranges
    assert "matches in other files omitted" in result.text
    assert set(find_refs(result.text)) == {segment.ref}
    assert len(result.text) < 0.3 * len(text)


def test_a_file_with_one_match_left_out_says_match_and_line() -> None:
    lines = [f"pkg/mod{f:02d}.py:{n * 3}:    value = compute_filler({n})" for f in range(120) for n in (1, 2)]
    options = SearchOptions(match_budget_chars=4_000, match_budget_ratio=0.0)
    result, _ = compress("\n".join(lines), options=options)
    singles = re.findall(r"\[headroom: 1 more match\w* in \S+ \(lines? [^)]*\)", result.text)
    assert singles
    assert all(re.fullmatch(r"\[headroom: 1 more match in pkg/mod\d+\.py \(line 6\)", single) for single in singles)


def test_each_file_shows_its_first_match_before_a_file_shows_its_second() -> None:
    """A broad grep over a few packages: one file with many matches must not push the files with
    one or two out of the index (a CLI option defined once in main.py). Without a better reason
    (a task term, a definition), a file's first match outranks another file's later ones."""
    lines = [f"pkg/server.py:{n}:        self.shutdown_event.set()  # step {n}" for n in range(1, 400)]
    lines.insert(200, 'pkg/main.py:298:    "--timeout-graceful-shutdown",')
    lines.insert(201, "pkg/main.py:432:    timeout_graceful_shutdown: int | None,")
    text = "\n".join(lines)
    options = SearchOptions(match_budget_chars=2_000, match_budget_ratio=0.0)
    result, _ = compress(text, "why does the server hang?", options=options)
    assert result.lossy and result.notes["matches_dropped"] > 300
    assert 'pkg/main.py:298: "--timeout-graceful-shutdown",' in result.text
    assert "pkg/main.py:432" not in result.text  # the second match waits its turn
    assert "pkg/server.py:1: self.shutdown_event.set()  # step 1" in result.text


def test_a_first_match_is_no_best_hit_for_context_lines() -> None:
    """Without a task word or a definition among the hits, no hit earns context lines, first in
    its file or not (the enclosing `def` of each file's first hit would be noise)."""
    lines = []
    for f in range(30):
        for k in range(6):
            base = 10 * k + 1
            lines += [
                f"pkg/mod{f}.py-{base}-def func_{f}_{k}(arg):",
                f"pkg/mod{f}.py-{base + 1}-    value = compute(arg)",
                f"pkg/mod{f}.py:{base + 2}:    return value + {k}",
                "--",
            ]
    result, _ = compress("\n".join(lines), "", '{"command": "grep -rn -B2 \'return value\' pkg"}')
    assert result.lossy and result.notes["matches_dropped"] > 0
    assert "def func_" not in result.text


def test_the_calls_own_path_argument_favours_no_file() -> None:
    """`grep -rn cancel starlette sse_starlette`: every match lies under a path the call named,
    and "sse_starlette" holds both of its words; that is no reason to rank its lines first."""
    lines = [f"starlette/run.py:{n}:        scope.cancel()  # {n}" for n in range(1, 200)]
    lines += [f"sse_starlette/sse.py:{n}:        scope.cancel()  # {n}" for n in range(1, 200)]
    options = SearchOptions(match_budget_chars=2_000, match_budget_ratio=0.0)
    args = '{"pattern": "cancel", "path": "starlette sse_starlette"}'
    result, _ = compress("\n".join(lines), "why does the stream hang?", args, options=options)
    assert "starlette/run.py:2: scope.cancel()  # 2" in result.text  # file order among equals
    assert "sse_starlette/sse.py:2:" not in result.text


def test_per_file_markers_cite_the_ref_only_now_and_then() -> None:
    """The ref is on the top marker and then on a file's marker only every few thousand
    characters: the same ~8 tokens on each of a tree's per-file markers said nothing new."""
    lines = [
        f"pkg/mod{f:02d}.py:{n * 7}:    result = compute_{'deadline' if n == 1 else 'filler'}(value_{n}, step={n})"
        for f in range(40)
        for n in range(1, 13)
    ]
    text = "\n".join(lines)
    result, segment = compress(text, "where is compute_deadline called?")
    markers = [line for line in result.text.split("\n") if line.startswith("[headroom:")]
    per_file = [m for m in markers if " more matches in pkg/" in m]
    assert len(per_file) >= 10
    assert markers[0].endswith(f"ref={segment.ref}]")
    assert sum(f"ref={segment.ref}" in m for m in per_file) < len(per_file) / 2
    assert set(find_refs(result.text)) == {segment.ref}


def test_grep_trailer_lines_are_kept() -> None:
    text = fixture("grep_context.txt") + "\n[showing first 38 of 51 matches]"
    result, _ = compress(text)
    assert result.text.endswith("[showing first 38 of 51 matches]")


# --- ripgrep formats ---------------------------------------------------------------------


def test_rg_json_events_become_grep_lines() -> None:
    text = fixture("rg_json.jsonl")
    assert looks_like_search(text)
    result, _ = compress(text, "what line length limits do the http clients use")
    assert result.lossy
    assert "http/client.py:112:_MAXHEADERS = 100" in result.text
    assert "poplib.py:48:_MAXLINE = 2048" in result.text
    assert '{"type"' not in result.text
    assert "[rg summary: matches=20, matched_lines=20" in result.text
    matches = sum(1 for line in text.splitlines() if line.startswith('{"type":"match"'))
    assert len(GREP_MATCH.findall(result.text)) == matches


def test_rg_heading_layout_is_kept() -> None:
    text = fixture("rg_heading.txt")
    assert looks_like_search(text)
    result, _ = compress(text, "line limits in mail protocols")
    assert result.lossy
    body = result.text.splitlines()
    assert body[1] == "http/client.py"
    assert "112:_MAXHEADERS = 100" in body
    assert "poplib.py" in body and "48:_MAXLINE = 2048" in body
    assert sum(1 for line in body if re.match(r"^\d+-", line)) <= 3  # context lines mostly gone
    assert sum(1 for line in body if re.match(r"^\d+:", line)) == 16  # every match line stays


# --- JSON hit lists ----------------------------------------------------------------------


def test_json_hits_stay_json_with_their_own_values() -> None:
    text = fixture("hits.json")
    hits = json.loads(text)
    assert looks_like_search(text)
    result, segment = compress(text, "which logging APIs are deprecated", '{"query": "warnings.warn"}')
    assert result.lossy
    assert find_refs(result.text) == [segment.ref]
    out = json.loads(result.text)
    assert out["columns"] == ["path", "line", "text"]
    rows = {tuple(row) for row in out["hits"]}
    for hit in hits:
        assert (hit["path"], hit["line"], hit["text"]) in rows
    assert '"score"' not in result.text
    assert count_tokens(result.text) < 0.25 * count_tokens(text)


def test_json_hits_with_wrapper_and_extra_fields() -> None:
    payload = {
        "query": "MAXLINE",
        "total": 3,
        "results": [
            {"file": "a/x.py", "line_number": n, "content": f"X{n} = {n}", "repo": "core", "score": 1.5}
            for n in (3, 9, 27)
        ]
        * 4,
    }
    result, _ = compress(json.dumps(payload, indent=2))
    out = json.loads(result.text)
    assert out["query"] == "MAXLINE" and out["total"] == 3
    assert out["columns"] == ["file", "line_number", "content", "repo"]
    assert ["a/x.py", 9, "X9 = 9", "core"] in out["hits"]
    assert "1.5" not in result.text


# --- sniffer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "src/a.py:10:def f():\nsrc/a.py-11-    pass\n--\nsrc/b.py:3:X = 1\n",
        "src/a.py:10:foo\nsrc/a.py:12:bar\n",
        "12:def f():\n13-    return 1\n--\n40:def g():\n",  # grep -n -C on one file
        '[{"path": "a.py", "line": 3, "text": "x"}, {"path": "b.py", "line": 4, "text": "y"}]',
        '{"type":"begin","data":{"path":{"text":"a.py"}}}\n',
    ],
)
def test_sniffer_accepts_search_output(text: str) -> None:
    assert looks_like_search(text)


@pytest.mark.parametrize(
    "text",
    [
        "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - x\n" * 5,
        "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:06:01.610 2931 INFO nova.compute.claims x\n" * 5,
        "1: first item\n2: second item\n3: third item\n",  # a numbered list, not a search
        "     1\timport os\n     2\timport sys\n",
        "The meeting is at 10:30:00 today.\nBring notes.\n",
        '{"login": "octocat", "id": 1}',
        '[{"login": "octocat", "id": 1}, {"login": "hubot", "id": 2}]',
        "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n",
        "",
    ],
)
def test_sniffer_rejects_other_text(text: str) -> None:
    assert not looks_like_search(text)


def test_sniffer_on_a_cut_head() -> None:
    text = fixture("grep_context.txt")
    assert looks_like_search(text[:8000])


# --- safety ------------------------------------------------------------------------------


def test_deterministic() -> None:
    text = fixture("grep_context.txt")
    first, _ = compress(text, "timeout", '{"pattern": "timeout"}')
    second, _ = compress(text, "timeout", '{"pattern": "timeout"}')
    assert first.text == second.text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[{not json",
        '[{"path": "a.py"}]',  # no line numbers: not hits
        "\x00\x01\x02binary\xff",
        "just some words\nwith no structure",
        '{"type":"match","data":42}\n{"type":"match"',
    ],
)
def test_malformed_input_passes_through(text: str) -> None:
    result, _ = compress(text)
    assert result.text == normalize_whitespace(text)
    assert not result.lossy
    assert not has_marker(result.text)


def test_small_output_is_left_alone() -> None:
    text = "src/a.py:10:def f():\nsrc/a.py-11-    pass"
    result, _ = compress(text)
    assert result.text == text and not result.lossy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["a.py", "b/c.py", "x-1-y.txt"]), st.sampled_from(":-"), st.integers(0, 50)).map(
                lambda t: f"{t[0]}{t[1]}{t[2]}{t[1]}"
            ),
            st.just("--"),
        ).flatmap(lambda prefix: st.text(max_size=30).map(lambda body: prefix + body.replace("\n", " "))),
        max_size=60,
    )
)
def test_never_raises_never_grows(lines: list[str]) -> None:
    text = "\n".join(lines)
    result, segment = compress(text, "a.py value")
    assert count_tokens(result.text) <= count_tokens(text)
    if result.lossy:
        assert find_refs(result.text) == [segment.ref]


def test_json_hits_without_line_numbers_stay_objects() -> None:
    hits = [{"path": "a.py", "line": n, "text": f"A{n} = {n}"} for n in range(1, 30)]
    hits.insert(3, {"path": "b.py", "text": "no line number", "context": "x\nno line number\ny"})
    result, _ = compress(json.dumps(hits, indent=2))
    out = json.loads(result.text)
    assert {"path": "b.py", "text": "no line number"} in out["hits"]
    assert {"path": "a.py", "line": 7, "text": "A7 = 7"} in out["hits"]
    assert "null" not in result.text


def test_a_definition_the_task_names_outranks_every_match_of_the_grep_pattern() -> None:
    """`grep -rn "def \\|class "` over the running Python's urllib: every class line holds the
    pattern's word `class`, which says nothing about which match the task wants."""
    urllib_dir = Path(json.__file__).parent.parent / "urllib"
    # request.py last, as grep may list it: among equal scores the first files win.
    files = sorted(urllib_dir.glob("*.py"), key=lambda path: (path.name == "request.py", path.name))
    hits = [
        f"{path}:{n}:{line}"
        for path in files
        for n, line in enumerate(path.read_text().split("\n"), 1)
        if "def " in line or "class " in line
    ]
    wanted = next(hit for hit in hits if ":def thishost(" in hit)
    command = json.dumps({"command": f'grep -rn "def \\|class " {urllib_dir}/'})
    result, _ = compress("\n".join(hits), query="where is thishost defined and what does it do?", args=command)
    assert result.lossy
    assert wanted in result.text.split("\n")


@pytest.mark.parametrize(
    "arguments",
    [
        '{"pattern": "shutdown|shield|cancel", "path": "src", "output_mode": "content", "-n": true}',
        '{"cmd": "rg -n \\"shutdown|shield|cancel\\" src"}',
        '{"command": "grep -rn \'shutdown\\\\|shield\\\\|cancel\' src"}',
    ],
)
def test_matches_of_several_words_of_the_pattern_stay(arguments: str) -> None:
    """A plain `grep -n 'a|b|c'` of hundreds of matches, past the budget: the lines where two of
    the searched words meet (a task cancelled at shutdown) are what the search was after."""
    lines = []
    for n in range(300):
        word = ("shutdown", "shield", "cancel")[n % 3]
        lines.append(f"src/svc/mod{n // 30}.py:{10 + n}:    self.{word}_handler_{n}(event, retries={n})")
    lines[157] = 'src/svc/mod5.py:167:    t.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")'
    lines[242] = "src/svc/mod8.py:252:    with CancelScope(shield=not abandon_on_cancel) as scope:"
    text = "\n".join(lines) + "\n"
    result, _ = compress(text, "The service hangs when it stops. Find where stopping is handled.", arguments)
    assert result.lossy and len(result.text) < 0.6 * len(text)
    kept = result.text.split("\n")  # indentation shown as one space
    assert 'src/svc/mod5.py:167: t.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")' in kept
    assert "src/svc/mod8.py:252: with CancelScope(shield=not abandon_on_cancel) as scope:" in kept


def test_a_pattern_without_alternatives_ranks_as_before() -> None:
    from headroom.compressors.search import pattern_alternatives

    assert pattern_alternatives('{"pattern": "shutdown", "path": "src"}') == []
    assert pattern_alternatives('{"command": "ps aux | grep python"}') == []
    assert pattern_alternatives(None) == []


def test_the_lines_of_a_rare_word_of_the_alternation_are_not_drowned() -> None:
    """`grep -rnE 'shutdown|shield'`: 200 shutdown lines, then the 5 shield lines the search was
    also for. Past the budget, the rare word's lines stay before the common word's later ones."""
    lines = [f"pkg/server.py:{n}:        await self.shutdown_step({n})" for n in range(1, 201)]
    lines += [f"pkg/streams.py:{400 + n}:            timeout, shield=True  # {n}" for n in range(5)]
    options = SearchOptions(match_budget_chars=2_500, match_budget_ratio=0.0)
    args = '{"pattern": "shutdown|shield", "path": "pkg"}'
    result, _ = compress("\n".join(lines), "why does the server hang at exit?", args, options=options)
    assert result.lossy and result.notes["matches_dropped"] > 100
    for n in range(5):
        assert f"pkg/streams.py:{400 + n}: timeout, shield=True  # {n}" in result.text


def test_rg_heading_without_context_is_a_search_of_its_files() -> None:
    """`rg -n --heading` with no context lines: file names, then `N:text` match lines under
    each. Under two or more file names it is a search (it passed whole as text)."""
    text = "\n".join(line for line in fixture("rg_heading.txt").splitlines() if not re.match(r"^\d+-|^--$", line))
    assert text.count("\n\n") >= 1 and not re.search(r"^\d+-", text, re.M)
    assert looks_like_search(text)
    assert not looks_like_search("\n".join(line for line in text.splitlines()[:8] if line != "poplib.py"))
