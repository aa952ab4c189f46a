"""Multi-agent shared context: agent A shares, agent B (another process) sees who produced it
and gets the original back — through the same SQLite file or Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from headroom import CompressConfig, Pipeline, compress, provenance, retrieve, share
from headroom.ccr.open import open_store
from tests.factories import customer_rows, openai_request

ROWS = json.dumps(customer_rows(600))
REPO = Path(__file__).resolve().parents[2]


def test_agent_b_sees_agent_a_provenance_in_another_process(store_spec: str) -> None:
    store = open_store(store_spec)
    unit = share(
        ROWS,
        agent_id="researcher",
        session_id="s-1",
        tool="list_customers",
        parent_ref="h_000000000001",
        pipeline=Pipeline(CompressConfig(), store),
    )
    assert unit.tokens_after < unit.tokens_before / 3
    assert unit.provenance.agent_id == "researcher"
    code = (
        "import json, sys\n"
        "from headroom import provenance, retrieve\n"
        "from headroom.ccr.open import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "p = provenance(sys.argv[2], store=store)\n"
        "r = retrieve(sys.argv[2], store=store)\n"
        "print(json.dumps({'agent': p.agent_id, 'session': p.session_id, 'tool': p.tool,\n"
        "                  'parent': p.parent_ref, 'same': r.text == sys.stdin.read()}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code, store_spec, unit.ref],
        input=ROWS,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(out.stdout) == {
        "agent": "researcher",
        "session": "s-1",
        "tool": "list_customers",
        "parent": "h_000000000001",
        "same": True,
    }


def test_lossless_share_is_still_retrievable(store_spec: str) -> None:
    store = open_store(store_spec)
    text = "a short note that nothing can compress"
    unit = share(text, agent_id="a", pipeline=Pipeline(CompressConfig(), store))
    assert unit.text == text
    assert retrieve(unit.ref, store=store).text == text
    assert provenance(unit.ref, store=store).agent_id == "a"  # type: ignore[union-attr]


def test_compress_records_agent_and_session(store_spec: str) -> None:
    store = open_store(store_spec)
    out = compress(
        openai_request(ROWS)["messages"],
        pipeline=Pipeline(CompressConfig(), store),
        agent_id="planner",
        session_id="run-42",
    )
    (ref,) = out.stats.refs
    found = provenance(ref, store=store)
    assert found is not None and (found.agent_id, found.session_id, found.tool) == (
        "planner",
        "run-42",
        "list_customers",
    )


def test_unknown_ref() -> None:
    store = open_store("memory")
    assert provenance("h_ffffffffffff", store=store) is None
    result = retrieve("h_ffffffffffff", store=store)
    assert not result.found and "not found" in result.message


def test_cli_retrieve_and_store_stats(tmp_path: Path) -> None:
    db = tmp_path / "ccr.db"
    store = open_store(str(db))
    out = compress(openai_request(ROWS)["messages"], pipeline=Pipeline(CompressConfig(), store))
    (ref,) = out.stats.refs
    headroom = [sys.executable, "-m", "headroom.cli.main"]
    env = {**os.environ, "HEADROOM_STORE": str(db)}
    whole = subprocess.run([*headroom, "retrieve", ref], capture_output=True, text=True, env=env, check=True)
    assert whole.stdout.rstrip("\n") == ROWS
    sliced = subprocess.run(
        [*headroom, "retrieve", ref, "--query", "user0421"], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(sliced.stdout) == [r for r in customer_rows(600) if r["login"] == "user0421"]
    missing = subprocess.run([*headroom, "retrieve", "h_ffffffffffff"], capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "not found" in missing.stderr
    stats = subprocess.run([*headroom, "store", "stats"], capture_output=True, text=True, env=env, check=True)
    assert "originals" in stats.stdout and "sqlite" in stats.stdout.lower()
    pruned = subprocess.run([*headroom, "store", "prune"], capture_output=True, text=True, env=env, check=True)
    assert "pruned 0" in pruned.stdout


def test_every_producer_is_kept_newest_first(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    pipeline = Pipeline(CompressConfig(), store)
    first = share(ROWS, agent_id="researcher", session_id="s-1", tool="list_customers", pipeline=pipeline)
    second = share(ROWS, agent_id="auditor", session_id="s-2", tool="export", pipeline=pipeline)
    assert second.ref == first.ref
    found = provenance(first.ref, store=store)
    assert found is not None
    assert found.agent_id == "auditor" and found.session_id == "s-2" and found.tool == "export"
    assert [p.agent_id for p in found.producers] == ["auditor", "researcher"]
    assert found.producers[0].at >= found.producers[1].at


def test_content_the_store_saw_before_still_gets_its_producer(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    pipeline = Pipeline(CompressConfig(), store)
    compress(openai_request(ROWS)["messages"], pipeline=pipeline)  # stored once, with no agent
    unit = share(ROWS, agent_id="researcher", tool="list_customers", pipeline=pipeline)
    found = provenance(unit.ref, store=store)
    assert found is not None and found.agent_id == "researcher"
    assert [p.agent_id for p in found.producers] == ["researcher"]


def test_a_version_1_sqlite_store_gains_the_producers_table(tmp_path: Path) -> None:
    import sqlite3

    from headroom.ccr.sqlite import SqliteStore

    path = tmp_path / "ccr.db"
    SqliteStore(path).put("h_000000000001", "x")
    with sqlite3.connect(path) as conn:  # as an older headroom left it
        conn.executescript("DROP TRIGGER originals_producers_removed; DROP TABLE producers; PRAGMA user_version = 1;")
    store = SqliteStore(path)
    store.add_producer("h_000000000001", {"agent_id": "a"})
    assert store.producers("h_000000000001")[0]["agent_id"] == "a"
