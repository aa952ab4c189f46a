"""A writer SIGKILLed mid-stream loses nothing it acknowledged, and leaves a sound database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from headroom.ccr.sqlite import SqliteStore
from headroom.segments import content_ref

PAYLOAD_SOURCE = textwrap.dedent(
    '''
    import random, string

    def payload(seq):
        """Deterministic originals of very different sizes (tens of bytes to ~80 KB)."""
        rng = random.Random(seq)
        size = rng.choice([40, 900, 5_000, 20_000, 80_000])
        alphabet = string.ascii_letters + string.digits + " \\n{}[]:,\\"é🚀"
        return f"seq={seq};" + "".join(rng.choices(alphabet, k=size))
    '''
)
_namespace: dict[str, object] = {}
exec(PAYLOAD_SOURCE, _namespace)
payload = _namespace["payload"]

WRITER = PAYLOAD_SOURCE + textwrap.dedent(
    """
    import sys
    from headroom.ccr.sqlite import SqliteStore
    from headroom.segments import content_ref

    store = SqliteStore(sys.argv[1], max_bytes=None)
    seq = int(sys.argv[2])
    while True:
        text = payload(seq)
        store.put(content_ref(text), text, {"seq": str(seq)})
        print(seq, content_ref(text), flush=True)  # acknowledged only after put returned
        seq += 1
    """
)


def run_and_kill(db: Path, first_seq: int, kill_after: int) -> list[tuple[int, str]]:
    """Start a writer, SIGKILL it once `kill_after` puts were acknowledged; every complete
    line it printed (also those still in the pipe) is an acknowledged original."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(first_seq)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acked: list[tuple[int, str]] = []
    deadline = time.monotonic() + 30
    while len(acked) < kill_after and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seq, ref = line.split()
        acked.append((int(seq), ref))
    os.kill(proc.pid, signal.SIGKILL)
    rest, errors = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, errors
    for line in rest.splitlines(keepends=True):
        if line.endswith("\n"):  # a torn last line was never fully acknowledged
            seq, ref = line.split()
            acked.append((int(seq), ref))
    assert len(acked) >= kill_after, errors
    return acked


def test_sigkill_mid_write_loses_no_acknowledged_original(tmp_path: Path) -> None:
    db = tmp_path / "ccr.db"
    acked: list[tuple[int, str]] = []
    for kill_after in (120, 250, 60):  # three crashes, each resuming on the same file
        acked += run_and_kill(db, len(acked) and acked[-1][0] + 1, kill_after)

    store = SqliteStore(db)
    for seq, ref in acked:
        text = payload(seq)  # type: ignore[operator]
        assert ref == content_ref(text)
        got = store.get(ref)
        assert got is not None, f"acknowledged original seq={seq} lost"
        assert got.text.encode("utf-8") == text.encode("utf-8")
        assert got.meta == {"seq": str(seq)}
    assert store.stats().items >= len(acked)
    store.put(content_ref("after the crash"), "after the crash")  # still writable
    store.close()

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        items, size = conn.execute("SELECT items, bytes FROM totals").fetchone()
        assert (items, size) == conn.execute("SELECT COUNT(*), SUM(stored_bytes) FROM originals").fetchone()
