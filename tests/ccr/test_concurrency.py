"""Eight processes writing and reading one store at the same time lose nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from headroom.ccr.open import open_store
from headroom.segments import content_ref

WORKERS = 8
PER_WORKER = 150
SHARED = 40  # every worker also stores these: concurrent inserts of the same ref


def text_for(worker: int, i: int) -> str:
    return f"worker={worker} item={i}\n" + f"row {worker}-{i} status=ok latency_ms={i * 7}\n" * (i % 23 + 1)


def shared_text(i: int) -> str:
    return f"shared original {i}\n" * (i + 3)


WORKER = textwrap.dedent(
    """
    import os, sys, time
    from headroom.ccr.open import open_store
    from headroom.segments import content_ref
    from tests.ccr.test_concurrency import PER_WORKER, SHARED, WORKERS, shared_text, text_for

    spec, worker, barrier = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    store = open_store(spec, max_bytes=None)
    # Start together: announce readiness, then wait for every sibling.
    open(os.path.join(barrier, str(worker)), "w").close()
    while len(os.listdir(barrier)) < WORKERS:
        time.sleep(0.002)
    seen = 0
    for i in range(PER_WORKER):
        text = text_for(worker, i)
        store.put(content_ref(text), text, {"agent_id": f"w{worker}"})
        if i < SHARED:
            store.put(content_ref(shared_text(i)), shared_text(i), {"agent_id": f"w{worker}"})
        # Read a sibling's originals while it writes: absent so far is fine, wrong text never is.
        other = text_for((worker + 1 + i) % WORKERS, i)
        got = store.get(content_ref(other))
        if got is not None:
            assert got.text == other, "read back different text"
            seen += 1
        mine = store.get(content_ref(text))
        assert mine is not None and mine.text == text, "own write not readable"
    print("done", worker, seen, flush=True)
    """
)


def test_eight_processes_lose_nothing(store_spec: str, tmp_path: Path) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store_spec, str(w), str(barrier)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("done"), err

    store = open_store(store_spec)
    try:
        for worker in range(WORKERS):
            for i in range(PER_WORKER):
                text = text_for(worker, i)
                got = store.get(content_ref(text))
                assert got is not None, f"worker {worker} item {i} lost"
                assert got.text == text
                assert got.meta == {"agent_id": f"w{worker}"}
        for i in range(SHARED):
            got = store.get(content_ref(shared_text(i)))
            assert got is not None and got.text == shared_text(i)
        assert store.stats().items == WORKERS * PER_WORKER + SHARED
    finally:
        store.close()
