"""A ref only ever returns the content it was issued for: `put` compares, `get` verifies, and a
collision gets a longer ref."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headroom.ccr.base import MemoryStore, OriginalStore, StoredOriginal, get_verified, put_original
from headroom.ccr.markers import find_refs
from headroom.ccr.retrieval import retrieve
from headroom.ccr.sqlite import SqliteStore
from headroom.pipeline import CompressConfig, Pipeline
from headroom.segments import LONG_REF_BYTES, SegmentContext, content_ref, ref_matches
from tests.factories import customer_rows

TABLE = json.dumps(customer_rows(300))
LOG = (Path(__file__).parent.parent / "fixtures" / "logs" / "hdfs.log").read_text()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> OriginalStore:
    return MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "ccr.db")


def test_a_ref_taken_by_other_content_gives_the_new_original_a_long_ref(store: OriginalStore) -> None:
    ref = content_ref(LOG)
    store.put(ref, "someone else's output that happens to share the short ref")  # a forced collision
    out, report = Pipeline(CompressConfig(), store).compress_text(LOG, SegmentContext(user_query="errors"))
    long_ref = content_ref(LOG, LONG_REF_BYTES)
    assert report.ref == long_ref and find_refs(out) == [long_ref]
    assert retrieve(store, long_ref).text == LOG
    # The earlier content keeps its ref: nobody can swap what another's marker retrieves.
    assert retrieve(store, ref).found is False  # (it never was this ref's content)
    assert store.get(ref).text.startswith("someone else")  # type: ignore[union-attr]


def test_put_of_the_same_content_keeps_the_short_ref(store: OriginalStore) -> None:
    ref = content_ref(TABLE)
    assert put_original(store, ref, TABLE) == ref
    assert put_original(store, ref, TABLE) == ref
    assert get_verified(store, ref).text == TABLE  # type: ignore[union-attr]


class _Rotten(MemoryStore):
    """A store whose blobs come back with one flipped bit."""

    def get(self, ref: str) -> StoredOriginal | None:
        item = super().get(ref)
        if item is None:
            return None
        flipped = chr(ord(item.text[10]) ^ 1)
        return StoredOriginal(item.ref, item.text[:10] + flipped + item.text[11:], item.created_at, item.meta)


def test_a_flipped_bit_is_never_returned_as_the_original() -> None:
    store = _Rotten()
    ref = content_ref(TABLE)
    store.put(ref, TABLE)
    result = retrieve(store, ref)
    assert result.found is False and "not the content" in result.message
    assert get_verified(store, ref) is None


def test_ref_matches_checks_length_and_content() -> None:
    assert ref_matches(content_ref("x"), "x")
    assert ref_matches(content_ref("x", LONG_REF_BYTES), "x")
    assert not ref_matches(content_ref("x"), "y")
    assert not ref_matches("h_abc", "x") and not ref_matches("nope", "x")
