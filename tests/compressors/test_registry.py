"""The compressor registry: classes register once; each pipeline's registry builds them with its
options, asks their sniffers in rank order, and hands itself to compressors that delegate."""

from __future__ import annotations

from typing import ClassVar

import pytest

from headroom.compressors import base
from headroom.compressors.base import Compressed, Registration, Registry, default_registry
from headroom.compressors.json_page import JsonPageCompressor
from headroom.compressors.search import SearchCompressor, SearchOptions
from headroom.pipeline import CompressConfig, Pipeline
from headroom.routing.detect import detect
from headroom.segments import ContentKind, Segment


def test_options_reach_the_compressor_of_that_registry_only() -> None:
    registry = Registry({"search": SearchOptions(match_budget_chars=500)})
    mine = registry.for_kind(ContentKind.SEARCH)
    assert isinstance(mine, SearchCompressor) and mine.options.match_budget_chars == 500
    theirs = default_registry().for_kind(ContentKind.SEARCH)
    assert isinstance(theirs, SearchCompressor) and theirs.options == SearchOptions()
    pipeline = Pipeline(CompressConfig(compressor_options={"search": SearchOptions(best_hits=1)}))
    piped = pipeline.registry.for_kind(ContentKind.SEARCH)
    assert isinstance(piped, SearchCompressor) and piped.options.best_hits == 1


def test_options_for_an_unknown_compressor_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown compressors"):
        Registry({"no-such-compressor": object()})
    with pytest.raises(ValueError, match="takes no options"):
        Registry({"json_page": object()})  # it has none: it delegates to the JSON compressor


def test_delegating_compressors_use_the_registry_they_were_built_in() -> None:
    registry = Registry()
    page = registry.for_kind(ContentKind.JSON_PAGE)
    assert isinstance(page, JsonPageCompressor) and page._registry is registry
    mixed = registry.for_kind(ContentKind.MIXED)
    assert mixed is not None and mixed._registry is registry  # type: ignore[attr-defined]
    commits = registry.for_kind(ContentKind.COMMITS)  # hands a history with patches to the diff compressor
    assert commits is not None and commits._registry is registry  # type: ignore[attr-defined]
    html = registry.for_kind(ContentKind.HTML)  # hands the page's text to the prose compressor
    assert html is not None and html._registry is registry  # type: ignore[attr-defined]


def test_sniffers_run_in_rank_order() -> None:
    kinds = [kind for kind, _ in Registry().sniffers()]
    assert kinds == [
        ContentKind.HTML,
        ContentKind.XML,
        ContentKind.DIFF,
        ContentKind.COMMITS,
        ContentKind.TEST_REPORT,
        ContentKind.DIAGNOSTICS,
        ContentKind.SEARCH,
        ContentKind.PATHS,
        ContentKind.JSON_PAGE,
        ContentKind.TABLE,
        ContentKind.REPEATS,
        ContentKind.LOGS,
        ContentKind.YAML,
    ]


class _ToyLogs:
    """A compressor for a made-up log format, registered the way a plugin would be."""

    name: ClassVar[str] = "toy_logs"
    kinds: ClassVar[frozenset[ContentKind]] = frozenset({ContentKind.LOGS})
    priority: ClassVar[int] = 99

    def compress(self, segment: Segment) -> Compressed:
        return Compressed("\n".join(dict.fromkeys(segment.text.split("\n"))))  # drop repeated lines


def _looks_toy(head: str) -> bool:
    return head.startswith("TOY|")


def test_a_registered_class_with_a_sniffer_is_detected_and_routed(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "TOY|boot ok\n" * 300 + "TOY|disk full\n"
    assert detect(text).kind != ContentKind.LOGS  # asked before the plugin registers (and remembered)
    monkeypatch.setitem(base._CLASSES, "toy_logs", Registration(_ToyLogs, _looks_toy, sniff_rank=1))
    assert detect(text).kind == ContentKind.LOGS  # the default registry has it now
    pipeline = Pipeline()  # built after the registration: it has the toy
    assert detect(text, None, pipeline.registry).kind == ContentKind.LOGS
    out, report = pipeline.compress_text(text)
    assert report.compressor == "toy_logs" and out == "TOY|boot ok\nTOY|disk full\n"
