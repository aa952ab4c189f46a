"""Prose compressor: relevant sentences and hard facts stay, the rest goes behind markers."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.api import config_from_env, prose_model_enabled
from headroom.ccr.base import MemoryStore
from headroom.ccr.markers import find_refs, has_marker
from headroom.compressors import _embedding, prose
from headroom.compressors._sentences import UnitKind, split_units
from headroom.compressors.base import compressor_for
from headroom.compressors.json_data import JsonCompressor
from headroom.compressors.prose import (
    ELLIPSIS,
    ProseCompressor,
    ProseOptions,
    compress_prose_field,
    compress_prose_fields,
)
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import ContentKind, Segment, SegmentContext
from headroom.tokens import count_tokens

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "prose"
MODEL = _embedding.model_dir() is not None and prose_model_enabled(os.environ)
needs_model = pytest.mark.skipif(not MODEL, reason="headroom[ml] not installed, or HEADROOM_PROSE_LEARNED=0")
_MARKER = re.compile(r"\[headroom: [^\]]*\]")


def _segment(name: str, query: str, args: str = '{"url": "https://docs.example.com/page"}') -> Segment:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return Segment(text, SegmentContext(tool_name="read_url", tool_arguments=args, user_query=query), ContentKind.PROSE)


def _kept_pieces(compressed: str) -> list[str]:
    return [p.strip() for p in re.split(rf"{_MARKER.pattern}|{ELLIPSIS}", compressed) if p.strip()]


def _assert_verbatim(compressed: str, original: str) -> None:
    """Everything that is not a marker is a verbatim slice of the original."""
    for piece in _kept_pieces(compressed):
        assert piece in original, piece


@pytest.fixture(params=[True, False], ids=["learned", "lexical"])
def options(request: pytest.FixtureRequest) -> ProseOptions:
    if request.param and not MODEL:
        pytest.skip("headroom[ml] not installed")
    return ProseOptions(learned=request.param)


def test_registered_for_prose() -> None:
    assert isinstance(compressor_for(ContentKind.PROSE), ProseCompressor)


def test_keeps_facts_and_relevant_sentences(options: ProseOptions) -> None:
    segment = _segment("deploy_guide.md", "How do I roll back a bad billing deploy, and how big can the DB pool be?")
    result = ProseCompressor(options).compress(segment)
    assert result.lossy
    assert count_tokens(result.text) < count_tokens(segment.text)
    assert result.notes["learned"] == int(options.learned)
    # Hard facts (RFC reference, percentage) and the task's own subject stay visible.
    for needle in ["RFC 7231", "exceeds 2%", "deployctl rollback billing --to <tag>", "BILLING_DB_POOL_SIZE"]:
        assert needle in result.text
    # Every drop is announced in place with the unit's ref, and nothing kept was altered.
    assert has_marker(result.text) and find_refs(result.text) == [segment.ref]
    assert "sentences omitted" in result.text
    _assert_verbatim(result.text, segment.text)
    assert result.lossless(segment.text) == segment.text


def test_drops_boilerplate_before_content(options: ProseOptions) -> None:
    segment = _segment("webpage_boilerplate.txt", "How does transaction mode work in PgBouncer?")
    result = ProseCompressor(options).compress(segment)
    assert "In transaction mode, a server connection is assigned to a client" in result.text
    assert "Subscribe to our newsletter" not in result.text
    assert "Copyright 2024 Example Media" not in result.text
    _assert_verbatim(result.text, segment.text)


def test_deterministic_in_process_and_across_processes(options: ProseOptions) -> None:
    segment = _segment("deploy_guide.md", "How long does a rollout take?")
    first = ProseCompressor(options).compress(segment).text
    assert ProseCompressor(options).compress(segment).text == first
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from headroom.compressors.prose import ProseCompressor, ProseOptions
        from headroom.segments import ContentKind, Segment, SegmentContext
        text = Path({str(FIXTURES / "deploy_guide.md")!r}).read_text(encoding="utf-8")
        context = SegmentContext(tool_name="read_url", tool_arguments={segment.context.tool_arguments!r},
                                 user_query="How long does a rollout take?")
        compressor = ProseCompressor(ProseOptions(learned={options.learned}))
        out = compressor.compress(Segment(text, context, ContentKind.PROSE))
        sys.stdout.buffer.write(out.text.encode("utf-8"))
        """
    )
    fresh = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout.decode("utf-8")
    assert fresh == first


def test_non_english_and_mixed_script_not_corrupted(options: ProseOptions) -> None:
    segment = _segment("mixed_languages.md", "Wie installiere ich die Bibliothek?")
    units = split_units(segment.text)
    japanese = [u for u in units if "。" in segment.text[u.start : u.end]]
    assert len(japanese) >= 5  # CJK full stops end sentences without a space after them
    result = ProseCompressor(options).compress(segment)
    assert result.text.encode("utf-8").decode("utf-8") == result.text
    _assert_verbatim(result.text, segment.text)
    assert "Python 3.10" in result.text
    # Everything dropped or kept is whole sentences: no piece starts or ends inside a word.
    for piece in _kept_pieces(result.text):
        assert segment.text.count(piece) >= 1


def test_emoji_and_rtl_survive_byte_for_byte() -> None:
    text = (FIXTURES / "mixed_languages.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if "✅" in line)
    context = SegmentContext(user_query="Which emoji appear in the logs?")
    result = ProseCompressor(ProseOptions(learned=False)).compress(Segment(text, context, ContentKind.PROSE))
    assert "✅ and 🚀" in result.text or has_marker(result.text)
    assert line.split("✅")[0] in text
    _assert_verbatim(result.text, text)


def test_short_text_marked_text_and_odd_input_pass_through() -> None:
    compressor = ProseCompressor()
    short = "A short note. It has two sentences."
    assert compressor.compress(Segment(short, kind=ContentKind.PROSE)).text == short
    already = "Intro sentence here. [headroom: 3 sentences omitted · ref=h_0123456789ab] " + "More text. " * 80
    out = compressor.compress(Segment(already, kind=ContentKind.PROSE))
    assert not out.lossy and out.text == already
    for odd in ["", "   \n\n  ", "x" * 5000, "\x00\x01 binary \x02" * 100, "no punctuation at all " * 300]:
        result = compressor.compress(Segment(odd, kind=ContentKind.PROSE))
        assert count_tokens(result.text) <= count_tokens(odd)
        _assert_verbatim(result.text, odd)


def test_learned_off_in_the_config_reaches_prose_and_json_text_fields() -> None:
    """HEADROOM_PROSE_LEARNED=0 is read at the edge (`config_from_env`) and reaches the prose
    compressor as an option of the pipeline's registry: nothing below reads the environment."""
    config = config_from_env({"HEADROOM_PROSE_LEARNED": "0"})
    compressor = Pipeline(config).registry.for_kind(ContentKind.PROSE)
    assert isinstance(compressor, ProseCompressor) and compressor.options.learned is False
    segment = _segment("deploy_guide.md", "How do I roll back a bad billing deploy?")
    assert compressor.compress(segment).notes["learned"] == 0
    json_compressor = Pipeline(config).registry.for_kind(ContentKind.JSON)
    assert json_compressor is not None and json_compressor._prose.learned is False  # type: ignore[attr-defined]
    default = Pipeline(config_from_env({})).registry.for_kind(ContentKind.PROSE)
    assert isinstance(default, ProseCompressor) and default.options.learned is True


def test_fallback_when_model_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prose, "get_encoder", lambda: None)  # as if loading had found no extra
    segment = _segment("deploy_guide.md", "How do I roll back a bad billing deploy?")
    result = ProseCompressor().compress(segment)
    assert result.notes["learned"] == 0
    assert result.lossy and "RFC 7231" in result.text


def test_fallback_when_extra_not_importable() -> None:
    """In a process where numpy/safetensors cannot be imported, prose still compresses, lexically."""
    script = textwrap.dedent(
        f"""
        import sys
        for name in ("numpy", "safetensors", "safetensors.numpy", "tokenizers"):
            sys.modules[name] = None  # import raises ImportError
        from pathlib import Path
        from headroom.compressors import _embedding
        from headroom.compressors.prose import ProseCompressor
        from headroom.segments import ContentKind, Segment, SegmentContext
        assert _embedding.get_encoder() is None
        text = Path({str(FIXTURES / "deploy_guide.md")!r}).read_text(encoding="utf-8")
        out = ProseCompressor().compress(Segment(text, SegmentContext(user_query="roll back"), ContentKind.PROSE))
        assert out.lossy and out.notes["learned"] == 0, out.notes
        print("ok")
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"


@needs_model
def test_model_loads_offline_with_network_blocked() -> None:
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from headroom.compressors._embedding import get_encoder
        encoder = get_encoder()
        assert encoder is not None
        query, near, far = encoder.embed([
            "How do I roll back a failed deployment?",
            "Rolling back restores the previous release of the service.",
            "The cafeteria serves vegetarian lunch on Fridays.",
        ])
        assert abs(float(query @ query) - 1.0) < 1e-4
        assert float(query @ near) > float(query @ far) + 0.2, (float(query @ near), float(query @ far))
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"


@needs_model
def test_embeddings_are_cached_and_stable() -> None:
    encoder = _embedding.get_encoder()
    assert encoder is not None
    texts = ["Connection pooling reuses database connections.", "Das ist ein deutscher Satz."]
    first = encoder.embed(texts)
    again = encoder.embed(list(reversed(texts)))
    assert (first[0] == again[1]).all() and (first[1] == again[0]).all()


@needs_model
def test_time_ceiling_falls_back_to_lossless() -> None:
    segment = _segment("deploy_guide.md", "A question nobody asked before about staged rollouts?")
    result = ProseCompressor(ProseOptions(time_budget_s=0.0)).compress(segment)
    assert result.notes["timeout"] == 1
    assert not result.lossy and result.text == segment.text


def _issues() -> list[dict[str, object]]:
    return json.loads((FIXTURES / "issue_bodies.json").read_text(encoding="utf-8"))


def test_fields_share_one_budget_and_drop_repeats(options: ProseOptions) -> None:
    issues = _issues()
    bodies = [str(issue["body"]) for issue in issues]
    context = SegmentContext(
        tool_name="github_api",
        tool_arguments='{"method": "GET", "path": "/repos/acme/tool/issues"}',
        user_query="Triage the open issues of acme/tool: which ones are crashes?",
    )
    out = compress_prose_fields(bodies, context, "h_0123456789ab", options=options)
    assert len(out) == len(bodies)
    assert any(o is not None for o in out)
    for original, short in zip(bodies, out, strict=True):
        if short is None:
            continue
        assert count_tokens(short) < count_tokens(original)
        assert find_refs(short) == ["h_0123456789ab"]
        _assert_verbatim(short, original)
    crash, duplicate = out[0] or bodies[0], out[3]
    assert "version 2.4.1" in crash  # a version is a hard fact
    assert "Any ideas? Thanks in advance!" not in crash  # boilerplate goes
    # The duplicate report repeats the first one's sentences: they are dropped there.
    assert duplicate is not None
    assert "falling back to the defaults" not in duplicate and "repeats" in duplicate


def test_field_without_markers_uses_ellipsis_only() -> None:
    body = str(_issues()[2]["body"])
    context = SegmentContext(user_query="Why is sync slow for large folders?")
    short = compress_prose_field(body, context, "h_0123456789ab", field_markers=False, keep_ratio=0.3)
    assert short is not None and ELLIPSIS in short and not has_marker(short)
    _assert_verbatim(short, body)
    assert compress_prose_field("Too short to bother.", context, "h_0123456789ab") is None


def test_sentence_units_are_exact_spans() -> None:
    text = (FIXTURES / "deploy_guide.md").read_text(encoding="utf-8")
    units = split_units(text)
    kinds = {u.kind for u in units}
    assert {UnitKind.HEADING, UnitKind.SENTENCE} <= kinds
    assert all(text[u.start : u.end].strip() == text[u.start : u.end] for u in units)
    assert [u.start for u in units] == sorted(u.start for u in units)
    assert all(a.end <= b.start for a, b in itertools.pairwise(units))
    fenced = "Intro text here.\n\n```python\ndef f():\n\n    return 1\n```\n\nAfter the code."
    code = [u for u in split_units(fenced) if u.kind is UnitKind.CODE]
    assert len(code) == 1 and "return 1" in fenced[code[0].start : code[0].end]


@needs_model
@pytest.mark.parametrize("budget", [160, 96])
def test_model_reads_at_most_its_token_budget(budget: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Model work per call is bounded by the input alone: the query's cap plus one prefix per
    embedded unit never exceeds `max_model_tokens`, however long the text."""
    encoder = _embedding.get_encoder()
    assert encoder is not None
    calls: list[list[int]] = []
    real_embed = encoder.embed

    def spy(texts: list[str], max_tokens: int | list[int] = 128, deadline: float | None = None) -> object:
        calls.append([max_tokens] * len(texts) if isinstance(max_tokens, int) else list(max_tokens))
        return real_embed(texts, max_tokens=max_tokens, deadline=deadline)

    monkeypatch.setattr(encoder, "embed", spy)
    segment = _segment("deploy_guide.md", "How do I roll back a bad billing deploy?")
    long_text = "\n\n".join(f"Paragraph {i}. " + segment.text for i in range(20))
    long_segment = Segment(long_text, segment.context, ContentKind.PROSE)
    results = [ProseCompressor(ProseOptions(max_model_tokens=budget)).compress(long_segment) for _ in range(2)]
    assert results[0].notes["learned"] == 1
    assert results[0].text == results[1].text  # same input, same bytes
    assert len(calls) == 2  # one model call per compression: the query and the units together
    assert all(sum(caps) <= budget for caps in calls), calls


# The soft-fact test as one regex, as it was written before being taken apart for speed.
_SOFT_FACT_ONE_PATTERN = re.compile(
    r"\d+\.\d+|\d{2,}|\b[A-Z][a-z0-9]+[A-Z]\w*|\b[a-z]+[A-Z]\w*|\b[A-Z]{2,}\b"
    r"|\b\w+_\w+|\b\w+\.\w+\(|\b\w+\(\)|`[^`\n]+`|https?://|[@#]\w"
    r"|[\"'“‘][^\"'“”‘’\s]*[^\w\s\"'“”‘’][^\"'“”‘’\s]*[\"'”’]"
)
_FACT_ALPHABET = "aZbQ09._-()`'\"“”‘’@#:/ %\nhtpsvPERFCGHSAé_"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_FACT_ALPHABET, max_size=40))
def test_fact_tests_match_their_single_regex_forms(text: str) -> None:
    digit = re.search(r"\d", text)
    assert prose._has_soft_fact(text, digit is not None) == bool(_SOFT_FACT_ONE_PATTERN.search(text))
    hard = digit is not None and prose._is_hard(text, digit.start())
    assert hard == bool(prose._HARD_FACT.search(text))


def test_fact_tests_on_real_sentences() -> None:
    for name in ("deploy_guide.md",):
        text = (FIXTURES / name).read_text(encoding="utf-8")
        for unit in split_units(text):
            piece = text[unit.start : unit.end]
            digit = re.search(r"\d", piece)
            assert prose._has_soft_fact(piece, digit is not None) == bool(_SOFT_FACT_ONE_PATTERN.search(piece))


@needs_model
def test_packed_embeddings_match_one_text_at_a_time() -> None:
    """The query and the units share one packed pass; each vector is what the text gets alone."""
    encoder = _embedding.get_encoder()
    assert encoder is not None
    texts = [
        "How do I roll back a bad deploy?",
        "Connection pooling reuses database connections across requests, which saves a handshake.",
        "x",
        "Das ist ein deutscher Satz mit Umlauten: äöü.",
        "word " * 300,
    ]
    caps = [32, 16, 16, 48, 128]
    encoder.clear_cache()
    together = encoder.embed(texts, max_tokens=caps)
    for i, (text, cap) in enumerate(zip(texts, caps, strict=True)):
        encoder.clear_cache()
        alone = encoder.embed([text], max_tokens=cap)[0]
        assert float(alone @ together[i]) > 0.99999


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'Intro line.\r\n\r\n- item one\r\n  continued\r\n- item two\r\n\r\nHe said "stop." Then he left. '
            "See e.g. the docs! Why? 終わり。次の文。",
            [
                ("Intro line.", "sentence", 0, True),
                ("- item one\r\n  continued", "item", 1, True),
                ("- item two", "item", 1, False),
                ('He said "stop.', "sentence", 2, True),
                ("Then he left.", "sentence", 2, False),
                ("See e.g. the docs!", "sentence", 2, False),
                ("Why? 終わり。", "sentence", 2, False),
                ("次の文。", "sentence", 2, False),
            ],
        ),
        (
            "Title\n=====\n\n>>> x = 1\n... y\n\n| a | b |\n| c | d |\n\nPlain text. More text.",
            [
                ("Title\n=====", "heading", 0, True),
                (">>> x = 1\n... y", "code", 1, True),
                ("| a | b |\n| c | d |", "code", 2, True),
                ("Plain text.", "sentence", 3, True),
                ("More text.", "sentence", 3, False),
            ],
        ),
    ],
)
def test_units_of_mixed_blocks(text: str, expected: list[tuple[str, str, int, bool]]) -> None:
    """CRLF blank lines, list items with continuations, quotes and abbreviations, CJK stops,
    underlined headings, prompts and tables (the plain-prose fast path must not swallow them)."""
    units = split_units(text)
    assert [(text[u.start : u.end], u.kind.value, u.block, u.lead) for u in units] == expected


def test_the_passage_answering_the_task_stays_when_hard_facts_fill_the_budget(options: ProseOptions) -> None:
    """Search results full of versions and CVE numbers: the hard facts alone exceed the budget,
    and the one passage that matches the task (without any) must still be kept."""
    answer = (
        '* Two new commands "git switch" and "git restore" are introduced to split "checking out a '
        'branch to work on advancing its history" out of the single "git checkout" command.'
    )
    filler = [
        f"* CVE-2022-{39000 + i}: an overly long string given to the shell in 2.{30 + i}.{i} could overflow "
        f"a buffer in the parser, fixed in 2.{31 + i}.0 together with other hardening of the transport."
        for i in range(12)
    ]
    unrelated = [
        f"* The {word} documentation was reworded in several places and its examples were reformatted, "
        "so that they read better in the manual pages and in the HTML output of the project."
        for word in ("install", "contributing", "glossary", "tutorial", "workflow", "protocol")
    ]
    passages = [*filler[:6], *unrelated[:3], answer, *filler[6:], *unrelated[3:]]
    context = SegmentContext(
        tool_name="search_docs",
        tool_arguments='{"query": "new commands git switch git restore split checkout"}',
        user_query="What do the release notes say about the newer checkout commands?",
    )
    out = compress_prose_fields(passages, context, "h_test", keep_ratio=0.25, options=replace(options, min_chars=120))
    assert out[9] is None or "Two new commands" in out[9]
    assert sum(o is not None for o in out) >= 3  # the unrelated passages went


def test_short_passages_are_prose_when_they_make_up_the_document() -> None:
    notes = [
        {
            "rank": i,
            "doc": f"RelNotes/2.{i}.0.txt",
            "passage": f"* Fixes to the {word} command in corner cases "
            f"that nobody hit in practice, with a test added for the {word} path and its options.",
        }
        for i, word in enumerate(["gc", "fetch", "push", "log", "diff", "merge", "rebase", "stash"] * 3)
    ]
    segment = Segment(
        json.dumps(notes), SegmentContext("search_docs", '{"query": "rebase"}', "rebase notes"), ContentKind.JSON
    )
    result = JsonCompressor().compress(segment)
    assert result.notes["text_fields_shortened"] > 0
    assert all(len(p["passage"]) < 400 for p in notes)
    out = json.loads(result.text)
    assert "rebase" in json.dumps(out)


def test_a_pasted_block_without_sentence_ends_does_not_take_the_budget() -> None:
    """An issue body holding a linker command line of ~1k tokens in one "sentence": it is not
    prose, so it does not compete for the document's budget on its score (it took the budget of
    25 issue bodies in a real dump); the sentences about the task do."""
    app = "/Users/dev/openframeworks/apps/devApps/GrabberExample"
    flags = " ".join(f"-L{app}/../../../libs/lib{k}/lib/osx" for k in range(40))
    pasted = f"Linking fails with this: *Ld bin/grabberExampleDebug.app normal i386 {flags} -framework QTKit*"
    bodies = [
        "I'm trying to run the grabber example on this laptop. Linking fails with no explanation at all. "
        + pasted
        + " So no explanation of the linker problem. What am I doing wrong with the linking step?",
        *(
            f"Issue {k}: the linking of example {k} breaks when the project is regenerated. "
            f"The generator writes the wrong scheme into example {k}. Rebuilding example {k} by hand "
            f"fixes the linking for a while. Nobody knows why the generator does that to example {k}. "
            f"The same happens on the other machine with example {k}, also after a clean checkout. "
            f"Reverting the last change to the generator did not help example {k} either."
            for k in range(40)
        ),
    ]
    context = SegmentContext(user_query="Why does linking the grabber example fail?")
    out = compress_prose_fields(bodies, context, "h_0123456789ab", options=ProseOptions(learned=False))
    assert count_tokens(pasted) > 800
    first = out[0]
    assert first is not None and flags not in first
    assert "Linking fails with no explanation at all." in first


def test_a_document_of_long_units_still_keeps_the_best_of_them() -> None:
    """Run-on paragraphs only (each one "sentence" of ~350 tokens): the long units yield to
    shorter ones for the budget, but with no shorter ones they still fill it."""
    subjects = ["the server", "the cache", "the worker pool", "the flusher", "every request", "the retry loop"]
    verbs = ["restarts", "fills up", "drains slowly", "holds the lock", "times out", "backs off"]
    paragraphs = [
        "; ".join(
            f"{subjects[(p + k) % 6]} {verbs[(p * k) % 6]} when {subjects[(p * 3 + k) % 6]} {verbs[(k + 2) % 6]}"
            for k in range(30)
        )
        + "."
        for p in range(10)
    ]
    text = "\n\n".join(paragraphs)
    context = SegmentContext(tool_name="Read", user_query="why does the server restart when the cache fills up?")
    result = ProseCompressor(ProseOptions(learned=False)).compress(Segment(text, context, ContentKind.PROSE))
    assert all(count_tokens(p) > 200 for p in paragraphs)
    kept = [p for p in paragraphs if p in result.text]
    assert kept and len(result.text) > 0.2 * len(text)


def test_a_described_term_is_a_unit_of_its_own() -> None:
    """A man page's option, a definition list's term: the line an indented description hangs
    under is kept (as a heading) whichever of its sentences go."""
    text = "  -0, --null\n         Input items end in a null.  Quotes are not special.\n\n- item\n  continued"
    units = [(text[u.start : u.end], u.kind) for u in split_units(text)]
    assert units[:3] == [
        ("-0, --null", UnitKind.HEADING),
        ("Input items end in a null.", UnitKind.SENTENCE),
        ("Quotes are not special.", UnitKind.SENTENCE),
    ]
    assert units[3] == ("- item\n  continued", UnitKind.ITEM)  # a list item's continuation is no term


def test_every_option_of_a_man_page_stays_named(options: ProseOptions) -> None:
    """xargs(1)'s OPTIONS (GPL-3.0+, rendered by man-db): what is dropped is description, never
    the option it describes, so the model still sees which options there are."""
    text = (FIXTURES / "xargs_options.txt").read_text()
    context = SegmentContext("search_docs", '{"query": "xargs file names with spaces"}', "Why does xargs choke?")
    result = ProseCompressor(options).compress(Segment(text, context, ContentKind.PROSE))
    assert result.lossy and count_tokens(result.text) < 0.85 * count_tokens(text)
    terms = [line.strip() for line in text.split("\n") if re.match(r"^ {7}-\S", line)]
    assert len(terms) > 15
    assert all(term in result.text for term in terms)


def test_a_caveat_the_text_flags_stays(options: ProseOptions) -> None:
    """A man page's "Warning:" paragraph is what a reader must not miss, whatever the task
    asked: it stays like a hard fact; the same sentence without its flag competes as any other
    (and loses, on the words alone)."""
    caveat = (
        "Warning: Don't forget that find evaluates the command line as an expression, so\n"
        "putting -delete first will make find try to delete everything below the starting\n"
        "points you specified."
    )
    filler = [
        f"The {w} option of the tool changes how the listing looks when the output goes to a pipe."
        for w in ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
    ]
    text = "\n\n".join([*filler[:5], caveat, *filler[5:]])
    context = SegmentContext(tool_name="man", user_query="why does the nightly cleanup keep files a day longer?")
    result = ProseCompressor(options).compress(Segment(text, context, ContentKind.PROSE))
    assert result.lossy
    assert caveat in result.text
    # A sentence that only starts with the word is no flag.
    assert prose._CAVEAT.match("Important changes in this release include a new parser.") is None
    assert prose._CAVEAT.match("Warning messages are printed to standard error.") is None
    assert prose._CAVEAT.match("**Caution**: the disk is erased.") is not None
    assert prose._CAVEAT.match("> [!WARNING]") is not None
    if not options.learned:  # (the model happens to rank the plain sentence high enough)
        unflagged = text.replace("Warning: Don't", "Don't")
        plain = ProseCompressor(options).compress(Segment(unflagged, context, ContentKind.PROSE))
        assert caveat.replace("Warning: Don't", "Don't") not in plain.text


def test_a_qualified_name_in_the_task_finds_its_method(options: ProseOptions) -> None:
    # "HTTPConnection.set_tunnel" is one term of the task; the reference text names the method
    # on its own (`set_tunnel(self, host, ...)`), as generated docs do.
    methods = [
        f"**{name}**(self, value) Sets the {name.replace('_', ' ')} of the connection to the given value."
        for name in ("set_debuglevel", "set_timeout", "set_blocksize", "set_source", "set_policy", "set_retries")
    ] * 8
    target = "**set_tunnel**(self, host, port=None, headers=None) Set up host and port for HTTP CONNECT tunnelling."
    text = "\n\n".join([*methods[:24], target, *methods[24:]])
    context = SegmentContext(user_query="What does HTTPConnection.set_tunnel do to a connection?")
    out = ProseCompressor(options).compress(Segment(text, context, ContentKind.PROSE))
    assert out.lossy and "Set up host and port for HTTP CONNECT tunnelling." in out.text


def test_a_long_list_item_is_weighed_sentence_by_sentence() -> None:
    # A generated reference puts a module's functions, docstrings and all, in one list item.
    functions = [
        f"**{name}**(nbytes=None) Return a random {kind} string. The string has *nbytes* random bytes."
        for name, kind in (
            ("token_bytes", "byte"),
            ("token_hex", "hexadecimal text"),
            ("token_urlsafe", "URL-safe text"),
        )
    ]
    item = "- " + " ".join(functions * 3)
    units = split_units(item)
    pieces = [item[u.start : u.end] for u in units]
    assert units[0].kind is UnitKind.ITEM and units[0].head and pieces[0].startswith("- **token_bytes**")
    assert all(u.kind is UnitKind.SENTENCE and not u.head for u in units[1:])
    # Each function's signature opens a sentence of its own (bold text after a full stop).
    assert "**token_hex**(nbytes=None) Return a random hexadecimal text string." in pieces
    short = "- **token_hex**(nbytes=None) Return a random text string. It is hex."
    assert [u.kind for u in split_units(short)] == [UnitKind.ITEM]
    # A numbered item's number stays with its first sentence.
    numbered = "1. Install the package. " + "It needs a compiler and a few headers to build. " * 20
    assert numbered[: split_units(numbered)[0].end] == "1. Install the package."


def test_a_long_items_first_sentence_stays_with_any_of_it() -> None:
    # The item's bullet and subject: a kept sentence deep in an item must not read as part of
    # the item above it.
    def item(name: str, fact: str = "") -> str:
        routines = [
            f"The {name} routine number {k} does something mundane with buffers and caches in turn." for k in range(8)
        ]
        if fact:
            routines.insert(3, fact)
        return " ".join([f"- The {name} helper is described here in general terms for the reader.", *routines])

    items = [item("alpha"), item("beta", "It rotates the zebracorn credentials every hour."), item("gamma")]
    text = (
        "Intro paragraph about the module and what it offers to callers.\n\n"
        + "\n".join(items)
        + "\n\nClosing paragraph.\n"
    )
    context = SegmentContext(user_query="How often are zebracorn credentials rotated?")
    out = ProseCompressor(ProseOptions(learned=False)).compress(Segment(text, context, ContentKind.PROSE)).text
    assert "It rotates the zebracorn credentials every hour." in out
    assert "- The beta helper is described here in general terms for the reader." in out


def test_a_hyphenated_word_of_the_task_finds_its_parts() -> None:
    # Lexical scores only: "url-safe" is one term of the task, and the unit's words are `url`, `safe`.
    words = ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta")
    filler = [f"The {w} helper returns a string that the caller stores for later." for w in words] * 10
    target = "**token_urlsafe**(nbytes=None) Return a random URL-safe text string, in Base64 encoding."
    text = "\n\n".join([*filler[:40], target, *filler[40:]])
    context = SegmentContext(user_query="Which helper gives url-safe output?")
    out = ProseCompressor(ProseOptions(learned=False)).compress(Segment(text, context, ContentKind.PROSE))
    assert out.lossy and target in out.text


def _exit_status_page(codes: int) -> str:
    """A man page's sections: filler paragraphs around an EXIT STATUS lead-in and its list."""
    filler = [
        f"Section {n}: the {word} option changes how items are read from standard input, and the "
        f"defaults differ between implementations in ways the manual describes at length here."
        for n, word in enumerate(["delimiter", "quoting", "eof", "max-args", "max-procs", "verbose", "prompt"])
    ]
    listing = "\n\n".join(f"{120 + i}    if the command exited with status {i} of the batch" for i in range(codes))
    return "\n\n".join([*filler[:4], f"xargs exits with the following status:\n\n{listing}", *filler[4:]])


_XARGS_CONTEXT = SegmentContext(
    tool_name="man", tool_arguments='{"page": "xargs"}', user_query="what status does xargs exit with?"
)


def test_a_kept_lead_in_keeps_the_short_list_it_introduces(options: ProseOptions) -> None:
    text = _exit_status_page(codes=5)
    segment = Segment(text, _XARGS_CONTEXT, ContentKind.PROSE)
    result = ProseCompressor(replace(options, keep_ratio=0.2)).compress(segment)
    assert result.lossy and "xargs exits with the following status:" in result.text
    # The list the kept lead-in introduces stays with it, entry by entry.
    for i in range(5):
        assert f"{120 + i}    if the command exited with status {i} of the batch" in result.text
    _assert_verbatim(result.text, text)


def test_a_long_introduced_list_is_left_to_the_scores() -> None:
    text = _exit_status_page(codes=40)
    segment = Segment(text, _XARGS_CONTEXT, ContentKind.PROSE)
    result = ProseCompressor(ProseOptions(learned=False, keep_ratio=0.2, min_chars=200)).compress(segment)
    assert "xargs exits with the following status:" in result.text
    kept = sum(f"if the command exited with status {i} of" in result.text for i in range(40))
    assert kept < 40 and count_tokens(result.text) < count_tokens(text) / 2


def test_a_kept_next_lead_in_ends_the_list_before_it() -> None:
    """Two lead-ins in a row, both kept (they hold a version): the first one's short list stays,
    and the second one's long list does not count against it."""
    names = ("FAIL", "EXIT", "KILL", "NOENT", "PERM", "BUSY", "AGAIN")
    codes = "\n\n".join(f"E{name}    the command stopped: {name.lower()} case of the batch" for name in names)
    signals = "\n\n".join(f"SIG{n}    stops the batch and reports signal {n}" for n in range(15))
    text = _exit_status_page(codes=0).replace(
        "xargs exits with the following status:\n\n",
        f"Since 4.2.1 xargs exits with the following status:\n\n{codes}\n\n"
        f"Since 4.2.1 signals are handled as listed below:\n\n{signals}",
    )
    segment = Segment(text, _XARGS_CONTEXT, ContentKind.PROSE)
    result = ProseCompressor(ProseOptions(learned=False, keep_ratio=0.01)).compress(segment)
    assert "Since 4.2.1 signals are handled as listed below:" in result.text
    for name in names:
        assert f"E{name}    the command stopped" in result.text


def test_lines_that_never_end_a_sentence_are_units_of_their_own() -> None:
    """A document glued to a listing with no sentence end in 80 lines (a report pasted into
    notes, a linter's output routed as prose): each listing line is a unit, so a dropped one
    leaves its neighbours whole; as one "sentence" a marker hid them all and glued the line
    before it to the line after it."""
    listing = [
        f"data/shard_{k:03d}/part-{k * 7 % 97:05d}.bin  {k * 4099 % 65536} bytes  owner svc-batch" for k in range(80)
    ]
    text = (
        "The nightly export writes its shards under data. It lists them before it uploads them, like this\n"
        + "\n".join(listing)
        + "\nThe upload stops at the first shard over the quota. Shard 41 was the one over it last night.\n"
    )
    units = split_units(text)
    assert max(text.count("\n", u.start, u.end) for u in units) < 12
    assert any(text[u.start : u.end] == listing[40] for u in units)
    context = SegmentContext(tool_name="Read", user_query="Which shard stopped the nightly upload?")
    out = ProseCompressor(ProseOptions(learned=False)).compress(Segment(text, context, ContentKind.PROSE)).text
    assert len(out) < 0.6 * len(text)
    original_lines = set(text.split("\n"))
    shown = [line for line in out.split("\n") if "data/shard_" in line]
    assert shown and all(line in original_lines for line in shown)
    assert "Shard 41 was the one over it last night." in out


def test_a_long_sentence_wrapped_narrow_stays_one_sentence() -> None:
    """The Apache License wrapped at 45 columns (a narrow terminal, a quoted mail): its longest
    sentences run over 12 lines, yet they are sentences, kept or dropped whole."""
    license_text = (Path(__file__).resolve().parents[2] / "LICENSE").read_text(encoding="utf-8")
    paragraphs = [" ".join(p.split()) for p in license_text.split("\n\n") if p.strip()]
    text = "\n\n".join(textwrap.fill(p, 45) for p in paragraphs)
    units = split_units(text)
    longest = max(units, key=lambda u: text.count("\n", u.start, u.end))
    assert text.count("\n", longest.start, longest.end) >= 12
    assert text[longest.start : longest.end].rstrip().endswith(".")  # a whole sentence


def test_lines_of_columns_are_weighed_one_by_one() -> None:
    """`cat /etc/services`: tab-separated records with no sentence end for dozens of lines. As
    one "sentence" they went together, `ssh 22/tcp` and `http 80/tcp` among them, though the
    task names both; each line is its own unit."""
    services = Path("/etc/services")
    if not services.is_file():
        pytest.skip("no /etc/services")
    text = services.read_text(encoding="utf-8")
    out, _ = Pipeline(CompressConfig(), MemoryStore()).compress_text(
        text, SegmentContext("Bash", None, "Which ports do the ssh, http and SMTP submission services use?")
    )
    kept = out.split("\n")
    for name in ("ssh", "http", "submission"):
        line = next(line for line in text.split("\n") if line.split("\t")[0] == name)
        assert line in kept
    assert all(line in text.split("\n") or line.startswith("[headroom:") for line in kept)
    # A run of dropped service lines is named by their first fields, as a table's rows are.
    named = [re.search(r"omitted: (.*) ·", line) for line in kept if line.startswith("[headroom:")]
    listed = [name for found in named if found for name in found[1].split(", ")]
    first_fields = {line.split("\t")[0] for line in text.split("\n") if "\t" in line}
    assert len(listed) > 20 and set(listed) <= first_fields


def test_justified_indented_text_is_no_column_of_records() -> None:
    """A man page through `col -b`: indented, justified with doubled spaces and stray tabs. Its
    wrapped sentences stay whole: split line by line, a description lost all but its last word."""
    from headroom.compressors._sentences import _columned

    page = (
        "       -u     with -lt: sort by, and show, access time; with -l:  show\taccess\n"
        "\t      time  and\t sort  by name; otherwise: sort by access time, newest\n"
        "\t      first"
    )
    assert not _columned(page)
    assert _columned("ssh\t\t22/tcp\nhttp\t\t80/tcp\t\twww\nsmtp\t\t25/tcp\t\tmail")


# A user guide in Japanese: sentences without spaces between words, one of them on deleting.
_GUIDE_JA = (
    "このツールはプロジェクトの設定ファイルを読み込んで、必要な処理を順番に実行します。",
    "最初にインストールを行い、環境変数を設定してください。",
    "設定ファイルはホームディレクトリの下に作成され、初回の起動時に自動で生成されます。",
    "ログは毎日新しいファイルに書き出され、古いログは一週間後に圧縮されます。",
    "画面の色やフォントの大きさは、表示メニューからいつでも変更できます。",
    "不要になったキャッシュを削除するには、クリーンコマンドに強制オプションを付けて実行します。",
    "ネットワークが遅い場合は、同時に接続する数を減らすと安定することがあります。",
    "アップデートは起動のたびに確認され、新しい版があれば通知が表示されます。",
    "複数の端末で同じ設定を使うときは、設定ファイルを共有フォルダに置いてください。",
    "困ったときは、公式サイトのよくある質問と利用者の掲示板を参照してください。",
)


def test_a_japanese_question_finds_its_sentence_by_character_pairs() -> None:
    """Japanese writes a sentence without spaces: the question "キャッシュを削除するには?" is one
    run of word characters, equal to no word of the text. Matched by its character pairs, the
    sentence on deleting the cache stays while others go."""
    text = "\n\n".join(" ".join(_GUIDE_JA[k : k + 2]) for k in range(0, len(_GUIDE_JA), 2))
    context = SegmentContext(user_query="キャッシュを削除するにはどうすればいいですか?")
    result = ProseCompressor(ProseOptions(learned=False, keep_ratio=0.2, min_chars=200)).compress(
        Segment(text, context, ContentKind.PROSE)
    )
    assert result.lossy
    assert _GUIDE_JA[5] in result.text
    assert sum(sentence in result.text for sentence in _GUIDE_JA) <= 6
    _assert_verbatim(result.text, text)
