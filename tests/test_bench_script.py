"""`make bench` on a clone without the shared cases says where they come from (issue: a bare
"No benchmark cases" left a new user guessing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_without_cases_says_where_they_live(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--cases",
            str(tmp_path),
            "--readme",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "../shared/bench/cases" in done.stderr and "HEADROOM_BENCH_CASES" in done.stderr
    assert "Traceback" not in done.stderr
