"""One behaviour suite for every persistent CCR store (SQLite file and real Redis)."""

from __future__ import annotations

import json
import os
import random
import string
import threading
import time
from pathlib import Path

import pytest

from headroom.ccr.base import StoredOriginal
from headroom.errors import StoreError
from headroom.segments import content_ref

from .conftest import StoreFactory

ODD_TEXTS = [
    "",
    "x",
    "naïve café — 東京 🚀 \u200b zero-width, ünïcödé",
    "windows\r\nline\r\nendings\r\n",
    "nul \x00 byte and \x1b[31mansi\x1b[0m",
    "lone surrogate \ud83d from a JSON escape",
    "   leading and trailing whitespace kept   \n\n",
    json.dumps([{"id": i, "name": f"user{i}", "email": f"u{i}@example.com"} for i in range(2000)]),
    "".join(random.Random(7).choice(string.printable) for _ in range(50_000)),
]


def noise(seed: int, size: int) -> str:
    """Text that barely compresses, so stored sizes are predictable."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(size))


@pytest.mark.parametrize("text", ODD_TEXTS, ids=range(len(ODD_TEXTS)))
def test_roundtrip_is_byte_exact(make_store: StoreFactory, text: str) -> None:
    store = make_store()
    ref = content_ref(text)
    before = time.time()
    store.put(ref, text, {"tool": "search"})
    got = store.get(ref)
    assert got is not None
    assert got.text == text
    assert got.text.encode("utf-8", "surrogatepass") == text.encode("utf-8", "surrogatepass")
    assert got.ref == ref
    assert got.meta == {"tool": "search"}
    assert before - 5 <= got.created_at <= time.time() + 5


def test_provenance_meta_is_kept(make_store: StoreFactory) -> None:
    store = make_store()
    parent = content_ref("parent unit")
    meta = {
        "agent_id": "researcher-1",
        "session_id": "sess-42",
        "parent_ref": parent,
        "tool": "github_search",
        "created": "2026-01-02T03:04:05Z",
    }
    store.put(content_ref("child"), "child", meta)
    got = store.get(content_ref("child"))
    assert got == StoredOriginal(content_ref("child"), "child", got.created_at if got else 0.0, meta)


def test_same_ref_twice_is_one_item_and_first_provenance_wins(make_store: StoreFactory) -> None:
    store = make_store()
    text = "the same tool output, compressed again on the next turn\n" * 20
    ref = content_ref(text)
    store.put(ref, text, {"agent_id": "a"})
    first = store.get(ref)
    store.put(ref, text, {"agent_id": "b"})
    stats = store.stats()
    assert stats.items == 1
    got = store.get(ref)
    assert got is not None and first is not None
    assert got.meta == {"agent_id": "a"}
    assert got.created_at == first.created_at


def test_unknown_ref_is_none(make_store: StoreFactory) -> None:
    store = make_store()
    assert store.get("h_000000000000") is None
    store.put(content_ref("a"), "a")
    assert store.get(content_ref("b")) is None


def test_originals_survive_reopening(make_store: StoreFactory) -> None:
    writer = make_store()
    texts = [f"original number {i}\n" * (i + 1) for i in range(50)]
    for text in texts:
        writer.put(content_ref(text), text)
    writer.close()
    reader = make_store()
    for text in texts:
        got = reader.get(content_ref(text))
        assert got is not None and got.text == text
    assert reader.stats().items == 50


def test_blobs_are_compressed(make_store: StoreFactory) -> None:
    store = make_store()
    text = json.dumps([{"id": i, "status": "active", "region": "eu-west-1"} for i in range(3000)])
    store.put(content_ref(text), text)
    stats = store.stats()
    assert stats.items == 1
    assert 0 < stats.stored_bytes < len(text) // 10


def test_ttl_expiry_is_sliding(make_store: StoreFactory) -> None:
    store = make_store(ttl_seconds=1.0)
    kept, dropped = "read again before it expires", "never read again"
    store.put(content_ref(kept), kept)
    store.put(content_ref(dropped), dropped)
    assert store.get(content_ref(dropped)) is not None
    time.sleep(0.6)
    assert store.get(content_ref(kept)) is not None  # refreshes its expiry
    time.sleep(0.6)
    assert store.get(content_ref(dropped)) is None
    got = store.get(content_ref(kept))
    assert got is not None and got.text == kept
    time.sleep(1.1)
    assert store.get(content_ref(kept)) is None
    store.prune()
    assert store.stats().items == 0
    assert store.stats().stored_bytes == 0


def test_expired_ref_can_be_stored_again(make_store: StoreFactory) -> None:
    store = make_store(ttl_seconds=0.3)
    text = "comes back on a later turn"
    store.put(content_ref(text), text)
    time.sleep(0.5)
    assert store.get(content_ref(text)) is None
    store.put(content_ref(text), text)
    got = store.get(content_ref(text))
    assert got is not None and got.text == text
    assert store.stats().items == 1


def test_size_cap_evicts_least_recently_used(make_store: StoreFactory) -> None:
    unit = 4000
    cap = 10 * unit + unit // 2
    store = make_store(max_bytes=cap)
    texts = [noise(i, unit) for i in range(15)]
    refs = [content_ref(t) for t in texts]
    for ref, text in zip(refs[:10], texts[:10], strict=True):
        store.put(ref, text)
    assert store.stats().items == 10  # under the cap: nothing evicted yet
    assert store.get(refs[0]) is not None  # 0 becomes the most recently used of the first ten
    for ref, text in zip(refs[10:], texts[10:], strict=True):
        store.put(ref, text)
    present = [i for i, ref in enumerate(refs) if store.get(ref) is not None]
    assert 0 in present, "a recently read original must outlive older ones"
    assert 1 not in present and 2 not in present, "the least recently used go first"
    assert present[-5:] == [10, 11, 12, 13, 14], "the newest originals are kept"
    stats = store.stats()
    assert stats.stored_bytes <= cap
    assert stats.items == len(present)
    for i in present:
        got = store.get(refs[i])
        assert got is not None and got.text == texts[i]


def test_original_larger_than_the_cap_is_refused(make_store: StoreFactory) -> None:
    store = make_store(max_bytes=1000)
    small = "fits"
    store.put(content_ref(small), small)
    big = noise(1, 5000)
    with pytest.raises(StoreError):
        store.put(content_ref(big), big)
    assert store.get(content_ref(big)) is None
    assert store.get(content_ref(small)) is not None


def test_prune_enforces_a_smaller_cap(make_store: StoreFactory) -> None:
    roomy = make_store(max_bytes=None)
    texts = [noise(100 + i, 2000) for i in range(10)]
    for text in texts:
        roomy.put(content_ref(text), text)
    assert roomy.prune() == 0
    tight = make_store(max_bytes=6000)
    removed = tight.prune()
    stats = tight.stats()
    assert removed == 10 - stats.items
    assert stats.stored_bytes <= 6000
    assert tight.get(content_ref(texts[-1])) is not None


def test_stats_describe_the_store(make_store: StoreFactory, backend: str) -> None:
    store = make_store(ttl_seconds=3600, max_bytes=1 << 20)
    stats = store.stats()
    assert (stats.backend, stats.items, stats.stored_bytes) == (backend, 0, 0)
    assert stats.max_bytes == 1 << 20 and stats.ttl_seconds == 3600
    assert stats.location
    assert "password" not in repr(store)


def test_threads_share_one_store(make_store: StoreFactory) -> None:
    store = make_store()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(100):
                text = f"worker {worker} item {i}\n" * (i % 7 + 1)
                store.put(content_ref(text), text, {"agent_id": str(worker)})
                got = store.get(content_ref(text))
                assert got is not None and got.text == text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.stats().items == 400


def test_a_forked_child_uses_the_store_safely(make_store: StoreFactory) -> None:
    """Pre-fork servers open the store once and then fork workers: each must get its own connection."""
    store = make_store()
    store.put(content_ref("before fork"), "before fork")
    pid = os.fork()
    if pid == 0:  # child: report through the exit code only
        ok = False
        try:
            got = store.get(content_ref("before fork"))
            store.put(content_ref("from child"), "from child")
            ok = got is not None and got.text == "before fork"
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    got = store.get(content_ref("from child"))  # the parent's connection still works
    assert got is not None and got.text == "from child"
    store.put(content_ref("after fork"), "after fork")
    assert store.stats().items == 3


def test_sqlite_store_is_private_to_the_user(tmp_path: Path) -> None:
    from headroom.ccr.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "data" / "ccr.db")
    store.put("h_0123456789ab", "secret tool output " * 20)
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    for path in (tmp_path / "data").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path.name
    store.close()
