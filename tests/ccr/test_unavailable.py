"""An unusable store raises StoreError (which the pipeline turns into a lossless fallback)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from headroom.ccr.open import open_store
from headroom.ccr.redis_store import RedisStore
from headroom.ccr.retrieval import retrieve
from headroom.ccr.sqlite import SqliteStore
from headroom.errors import StoreError
from headroom.segments import content_ref
from tests.conftest import free_port

REF = content_ref("some original")
_PR_CAPBSET_DROP = 24


def test_redis_down_raises_store_error() -> None:
    store = open_store(f"redis://127.0.0.1:{free_port()}/0")
    assert isinstance(store, RedisStore)
    with pytest.raises(StoreError, match="unavailable"):
        store.put(REF, "some original")
    with pytest.raises(StoreError):
        store.get(REF)
    with pytest.raises(StoreError):
        store.stats()
    result = retrieve(store, REF)
    assert not result.found and "unavailable" in result.message


def test_redis_error_hides_the_password() -> None:
    store = RedisStore(f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreError) as caught:
        store.put(REF, "some original")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(store)


def test_sqlite_under_a_file_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    store = SqliteStore(blocker / "ccr.db")  # opening is lazy: constructing never fails
    with pytest.raises(StoreError):
        store.put(REF, "some original")
    with pytest.raises(StoreError):
        store.get(REF)


READ_ONLY_PROBE = textwrap.dedent(
    """
    import sys
    from headroom.ccr.sqlite import SqliteStore
    from headroom.errors import StoreError
    for db, ref, text in ((sys.argv[1], sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[2], sys.argv[3])):
        store = SqliteStore(db)
        try:
            store.put("h_0123456789ab", "new original")
            print("put stored")
        except StoreError:
            print("put StoreError")
        try:
            got = store.get(ref)
            print("get", "exact" if got is not None and got.text == text else "wrong")
        except StoreError:
            print("get StoreError")
    """
)


def _obey_permission_bits() -> None:
    """Run in the child before exec: drop the capabilities that let root ignore file modes
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER) from the bounding set."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_sqlite_in_a_read_only_directory_raises_store_error() -> None:
    """A fresh and an existing store in a directory the process may not write to. Root ignores
    permission bits, so as root the probe runs without the capabilities that allow that."""
    text = "an original written before the directory became read-only"
    ref = content_ref(text)
    with tempfile.TemporaryDirectory() as root:
        fresh, existing = Path(root) / "fresh", Path(root) / "existing"
        fresh.mkdir()
        existing.mkdir()
        writer = SqliteStore(existing / "ccr.db")
        writer.put(ref, text)
        writer.close()
        for directory in (fresh, existing):
            directory.chmod(0o555)
        try:
            as_root = os.geteuid() == 0
            probe = subprocess.run(
                [sys.executable, "-c", READ_ONLY_PROBE, str(fresh / "ccr.db"), ref, text, str(existing / "ccr.db")],
                capture_output=True,
                text=True,
                timeout=30,
                cwd=root,
                preexec_fn=_obey_permission_bits if as_root else None,
            )
        finally:
            for directory in (fresh, existing):
                directory.chmod(0o755)
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    assert lines[0] == "put StoreError" and lines[1] == "get StoreError"  # fresh: nothing to open
    assert lines[2] == "put StoreError"  # existing: cannot write
    assert lines[3] == "get exact"  # what was handed out before stays retrievable


def test_sqlite_disk_full_raises_store_error_and_keeps_data(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ccr.db", max_bytes=None)
    store.put(REF, "some original")
    conn = store._connection()  # simulate a full disk: the file may not grow any further
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = os.urandom(300_000).hex()
    with pytest.raises(StoreError, match="full"):
        store.put(content_ref(big), big)
    got = store.get(REF)  # the failed put reconnected; earlier originals are intact
    assert got is not None and got.text == "some original"
    store.put(content_ref(big), big)  # the limit was per connection: space "came back"
    assert store.get(content_ref(big)) is not None


def test_sqlite_that_cannot_be_opened_for_writing_still_serves_earlier_refs(tmp_path: Path, monkeypatch) -> None:
    """A full disk fails the writable open (WAL switch, schema, -shm growth): originals handed out
    before must still come back, exactly."""
    texts = [f"original number {i} " * 50 for i in range(9)]
    writer = SqliteStore(tmp_path / "ccr.db")
    for text in texts:
        writer.put(content_ref(text), text)
    writer.close()
    reader = SqliteStore(tmp_path / "ccr.db")

    def disk_full() -> None:
        raise StoreError("database or disk is full")

    monkeypatch.setattr(reader, "_connection", disk_full)
    assert [reader.get(content_ref(t)).text for t in texts] == texts  # type: ignore[union-attr]
    assert reader.get(content_ref("never stored")) is None
    with pytest.raises(StoreError):
        reader.put(content_ref("new"), "new")


def _own_redis(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    import shutil

    from tests.conftest import REDIS_SERVER, _start_redis

    binary = REDIS_SERVER if os.path.exists(REDIS_SERVER) else shutil.which("redis-server")
    assert binary is not None, "make test installs redis-server"
    return _start_redis(binary, tmp_path)


def test_redis_frozen_or_killed_mid_session_degrades_to_lossless(tmp_path: Path) -> None:
    """A Redis that stops answering (SIGSTOP: a frozen host) or dies: puts and gets fail within
    the store's timeout as StoreError, the pipeline compresses losslessly, nothing hangs."""
    import signal

    from headroom.pipeline import CompressConfig, Pipeline
    from headroom.segments import SegmentContext

    log = (Path(__file__).parent.parent / "fixtures" / "logs" / "hdfs.log").read_text()
    proc, url = _own_redis(tmp_path)
    try:
        store = RedisStore(url, connect_timeout=0.5, timeout=0.5)
        store.put(REF, "some original")
        proc.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(StoreError):
                store.get(REF)
            out, report = Pipeline(CompressConfig(), store).compress_text(log, SegmentContext(user_query="errors"))
            assert report.ref is None and "store unavailable" in (report.diagnostic or "")
            assert "[headroom:" not in out  # lossless only: no marker without a stored original
        finally:
            proc.send_signal(signal.SIGCONT)
        assert store.get(REF) is not None  # back: it serves again
        proc.kill()
        proc.wait()
        with pytest.raises(StoreError):
            store.put(content_ref("after death"), "after death")
        assert not retrieve(store, REF).found
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
