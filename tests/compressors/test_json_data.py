"""SmartCrusher: valid JSON, only original values, lossless factoring, anomaly-aware row selection."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import find_refs
from headroom.compressors import json_data
from headroom.compressors.json_data import META_KEY, JsonCompressor, JsonOptions, identity_columns
from headroom.segments import ContentKind, Segment, SegmentContext
from tests.factories import customer_rows

CRUSHER = JsonCompressor()


def crush(value: Any, query: str = "", args: str = "") -> tuple[Any, Any]:
    segment = Segment(json.dumps(value), SegmentContext("tool", args, query), ContentKind.JSON)
    result = CRUSHER.compress(segment)
    return json.loads(result.text), result


# Keys whose values are headroom's own notes or column names, not data values.
STRUCTURE_KEYS = (
    META_KEY,
    "derived",
    "columns",
    "by",
    "omitted",
    "present_with",
    "element_field",
    "keyed",
    "grouped",
)


def leaves(value: Any, skip_meta: bool = True) -> list[Any]:
    """Every scalar value, ignoring the marker/metadata keys headroom adds."""
    if isinstance(value, dict):
        return [
            leaf for k, v in value.items() if not (skip_meta and k in STRUCTURE_KEYS) for leaf in leaves(v, skip_meta)
        ]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v, skip_meta)]
    return [value]


def original_leaves(value: Any) -> set[str]:
    """Every leaf of `value`, and every key of its objects: a keyed table (an object whose values
    are alike records) lists its records with their keys as a `key` column."""
    found = {orjson.dumps(leaf).decode() for leaf in leaves(value, skip_meta=False)}
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.update(orjson.dumps(key).decode() for key in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def test_constant_and_derived_columns_are_factored_losslessly() -> None:
    rows = customer_rows(30)
    out, result = crush(rows)
    assert not result.lossy
    assert out["constant"] == {"status": "active", "region": "eu-west-1", "notes": None}
    assert out["derived"]["profile_url"] == ["https://billing.example.com/customers/", "login", ""]
    assert out["derived"]["invoices_url"] == ["https://billing.example.com/customers/", "login", "/invoices"]
    # Columnar rows rebuild every original row exactly.
    for original, row in zip(rows, out["rows"], strict=True):
        rebuilt = dict(zip(out["columns"], row, strict=True)) | out["constant"]
        for column, (prefix, key, suffix) in out["derived"].items():
            rebuilt[column] = f"{prefix}{rebuilt[key]}{suffix}"
        assert rebuilt == original


def test_lookup_column_factored() -> None:
    rows = [
        {"id": i, "code": f"E{i % 3}", "template": f"error template number {i % 3} with a long text <*>"}
        for i in range(40)
    ]
    out, _ = crush(rows)
    assert out["lookup"]["template"]["by"] == "code"
    assert out["lookup"]["template"]["values"]["E1"] == "error template number 1 with a long text <*>"


def test_large_table_keeps_anomalies_edges_and_query_matches() -> None:
    rows = customer_rows(800)
    out, result = crush(rows, query="Check the account of user0421 please")
    assert result.lossy and result.notes["rows_dropped"] > 600
    text = json.dumps(out)
    logins = {row[out["columns"].index("login")] for row in out["rows"]}
    assert {"user0001", "user0800", "user0137", "user0088", "user0421"} <= logins
    # Every other row is still named by its identity fields; the marker says where and how to ask.
    index = out["other_rows"]
    assert index["columns"] == ["id", "login"]
    assert logins | {row[1] for row in index["rows"]} == {row["login"] for row in rows}
    assert "other_rows" in out[META_KEY] and "retrieve with a query" in out[META_KEY] and find_refs(out[META_KEY])
    assert len(json.loads(result.lossless(""))["rows"]) == 800
    assert "suspended" in text


def _release_file(i: int) -> dict[str, Any]:
    """A row shaped like PyPI's JSON file index: one release in 25 is a prerelease."""
    version = f"{i // 10}.{i % 10}.0" + ("a1" if i % 25 == 4 else "")
    digest = hashlib.blake2b(version.encode(), digest_size=30).hexdigest()
    name = f"pkg-{version}.tar.gz"
    return {
        "filename": name,
        "size": 10_000 + 37 * i,
        "url": f"https://files.example.org/packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{name}",
    }


def test_rare_rows_are_found_per_column_even_beside_a_column_of_random_urls() -> None:
    """The URLs' hash directories make every row's joint template unique; the prerelease files
    are the rare ones all the same, and are shown in full rather than the first rows."""
    rows = [_release_file(i) for i in range(300)]
    out, result = crush(rows)
    assert result.lossy
    shown = {row[out["columns"].index("filename")] for row in out["rows"]}
    prereleases = {row["filename"] for row in rows if "a1" in row["filename"]}
    assert len(shown & prereleases) >= min(len(prereleases), 10)


def test_identity_columns_are_learned_from_values_not_names() -> None:
    """An issue list: the number, the title and the reporter identify an issue (the reporter
    repeats, the state does not name anything); node ids, hashes and URLs do not, whatever
    their field names say."""
    rows = [
        {
            "f1": 1000 + i,  # an issue number
            "f3": f"MDU6SXNzdWU{i:06d}xQ==",  # base64 node id: opaque
            "f4": f"Crash parsing config file {i} with unicode keys",  # a title
            "f5": f"reporter{i % 20}",  # a login, repeating
            "f6": "open" if i % 3 else "closed",  # a state: names nothing
            "f7": f"https://example.com/issues/{1000 + i}/comments/{i * 7}",  # a URL
            "f8": f"{i:040x}{'ab' * 12}",  # a hash
        }
        for i in range(60)
    ]
    columns = list(rows[0])
    assert identity_columns(rows, columns) == ["f1", "f4", "f5"]
    assert identity_columns(rows, columns, budget_chars=40) == ["f1", "f5"]  # a title too wide to fit


def test_a_long_list_keeps_every_rows_identity_and_values_stay_original() -> None:
    """The 47-issue case: the question comes after the tool result, so every issue's number,
    title and reporter stay visible even when its body and other fields go."""
    rows = [
        {
            "number": 2000 - i,
            "title": f"ofxThing {i}: event handling differs on platform {i % 4}",
            "user": {"login": f"person{i % 11}", "id": 500 + i % 11},
            "state": "open",
            "body": f"Steps to reproduce issue {i}. " + "The event loop stalls when a listener goes. " * 7,
            "comments": i % 5,
        }
        for i in range(47)
    ]
    # Text fields left whole: the table stays big enough for rows to be cut.
    segment = Segment(json.dumps(rows), SegmentContext("tool", "", ""), ContentKind.JSON)
    result = JsonCompressor(JsonOptions(prose_min_chars=None)).compress(segment)
    out = json.loads(result.text)
    assert result.lossy and "other_rows" in out
    text = json.dumps(out)
    for row in rows:
        assert str(row["number"]) in text and json.dumps(row["title"]) in text
        assert json.dumps(row["user"]["login"]) in text
    # Only original values: every scalar of the output (but the notes) is one of the input's.
    assert {orjson.dumps(leaf).decode() for leaf in leaves(out)} <= original_leaves(rows) | {
        orjson.dumps(c).decode() for c in ("number", "title", "user.login")
    }


def test_nested_objects_flatten_into_dotted_columns() -> None:
    rows = [
        {
            "number": i,
            "title": f"Issue {i}",
            "user": {"login": f"dev{i % 5}", "url": f"https://api.example.com/users/dev{i % 5}"},
        }
        for i in range(10)
    ]
    out, _ = crush(rows)
    assert "user.login" in out["columns"]
    assert out["derived"]["user.url"] == ["https://api.example.com/users/", "user.login", ""]


_DEV_TOOLS = ("eslint", "jest", "sinon", "tsd", "mocha", "should", "typescript", "prettier")


def _package_version(i: int) -> dict[str, Any]:
    """A row shaped like npm's registry document for one version of a package."""
    version = f"2.{i}.0"
    row: dict[str, Any] = {
        "version": version,
        # Maps: the names change from version to version.
        "devDependencies": {name: f"^{i}.0.0" for name in (_DEV_TOOLS[i % 8], _DEV_TOOLS[(i + 3) % 8])},
        "scripts": {"lint": "eslint .", f"test:{i % 6}": f"node test/{i % 6}.js"},
        "dist": {
            "shasum": hashlib.sha1(version.encode()).hexdigest(),
            "tarball": f"https://registry.npmjs.org/pkg/-/pkg-{version}.tgz",
        },
    }
    if i % 4 == 0:
        row["exports"] = {".": {"import": "./esm.mjs", "require": "./index.js"}, "./package.json": "./package.json"}
    return row


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted columns back into nested objects."""
    out: dict[str, Any] = {}
    for column, value in flat.items():
        *parents, last = column.split(".")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return out


def test_nested_records_flatten_but_maps_and_objects_with_dotted_keys_stay_whole() -> None:
    rows = [_package_version(i) for i in range(12)]
    out, result = crush(rows)
    assert not result.lossy
    # A record (the same few keys in every row) becomes columns, where its URL is derived.
    assert "dist.shasum" in out["columns"]
    assert out["derived"]["dist.tarball"] == ["https://registry.npmjs.org/pkg/-/pkg-", "version", ".tgz"]
    # A map (each row has a few of many names) stays one column, not a column per name ever seen.
    assert "devDependencies" in out["columns"] and "scripts" in out["columns"]
    assert not any(c.startswith(("devDependencies.", "scripts.")) for c in out["columns"])
    # "exports" has the key "." : a dotted column could not be split back, so it stays whole.
    assert "exports" in out["columns"] and not any(c.startswith("exports.") for c in out["columns"])
    rebuilt = [nest({k: v for k, v in row.items() if v is not None or k != "exports"}) for row in as_dicts(out)]
    for original, row in zip(rows, rebuilt, strict=True):
        row["dist"]["tarball"] = f"https://registry.npmjs.org/pkg/-/pkg-{row['version']}.tgz"
        assert row == original


def test_non_uniform_rows_stay_objects() -> None:
    rows = [{"id": i, "kind": "a"} if i % 2 else {"id": i, "kind": "a", "extra": i * 2} for i in range(12)]
    out, _ = crush(rows)
    assert out["constant"] == {"kind": "a"}
    assert out["rows"][0] == {"id": 0, "extra": 0}


def test_small_arrays_and_scalars_keep_their_shape() -> None:
    value = {"total": 2, "items": [{"a": 1}, {"a": 2}], "tags": ["x", "y"]}
    out, result = crush(value)
    assert out == value and not result.lossy


def test_deterministic() -> None:
    rows = customer_rows(500)
    texts = {CRUSHER.compress(Segment(json.dumps(rows), SegmentContext(), ContentKind.JSON)).text for _ in range(3)}
    assert len(texts) == 1


json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=30)
json_rows = st.lists(
    st.dictionaries(
        st.sampled_from(["id", "name", "status", "url", "n", "nested"]),
        json_scalars | st.dictionaries(st.sampled_from(["a", "b"]), json_scalars, max_size=2),
        min_size=1,
    ),
    min_size=0,
    max_size=80,
)
json_values = st.recursive(
    json_scalars, lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_rows)
def test_every_output_value_exists_in_the_input_rows(rows: list[dict[str, Any]]) -> None:
    out, _ = crush(rows)
    allowed = original_leaves(rows)
    for leaf in leaves(out):
        assert orjson.dumps(leaf).decode() in allowed


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_every_output_value_exists_in_arbitrary_json(value: Any) -> None:
    out, _ = crush(value)
    allowed = original_leaves(value)
    for leaf in leaves(out):
        assert orjson.dumps(leaf).decode() in allowed


DESCRIPTIONS = {"bug": "Broken behaviour that users reported", "docs": "The documentation needs an update"}


def _issue(number: int, body: str) -> dict[str, Any]:
    return {
        "number": number,
        "title": f"Issue {number}",
        "user": {"login": f"dev{number % 4}", "url": f"https://api.example.com/users/dev{number % 4}"},
        "labels": [
            {
                "name": name,
                "color": color,
                "url": f"https://api.example.com/labels/{name}",
                "description": DESCRIPTIONS[name],
            }
            for name, color in (("bug", "d73a4a"), ("docs", "0075ca"))[: 1 + number % 2]
        ],
        "milestone": {"title": "v2.0", "creator": "lead", "due_on": "2026-12-01"} if number % 3 else None,
        "body": body,
    }


FILLER = (
    "I upgraded the service last week and noticed the behaviour changed in some places. "
    "The team discussed it in the weekly meeting and people had different opinions about it. "
    "Some of us think this is expected, others believe it is a regression that needs a fix. "
)


def as_dicts(table: dict[str, Any]) -> list[dict[str, Any]]:
    if "columns" in table:
        return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
    return table["rows"]


def test_long_text_fields_are_shortened_by_the_prose_compressor() -> None:
    issues = [
        _issue(n, FILLER * 3 + f"The crash happens in parse_header() since version 3.11.{n}. " + FILLER * 2)
        for n in range(1, 13)
    ]
    out, result = crush(issues, query="Find issues about parse_header crashes")
    assert result.lossy and result.notes["text_fields_shortened"] > 0
    assert "text fields marks omitted sentences" in out[META_KEY] and find_refs(out[META_KEY])
    bodies = [row["body"] for row in as_dicts(out)]
    for n, body in enumerate(bodies, start=1):
        assert f"parse_header() since version 3.11.{n}" in body  # the sentence the task is about stays
        assert "…" in body and len(body) < len(issues[n - 1]["body"]) / 2
    full = json.loads(result.lossless(""))
    assert [row["body"] for row in as_dicts(full)] == [i["body"] for i in issues]


def test_object_lists_and_nested_objects_are_factored_losslessly() -> None:
    issues = [_issue(n, f"short body {n}") for n in range(1, 13)]
    out, result = crush(issues)
    assert not result.lossy
    assert out["derived"]["labels[].url"] == ["https://api.example.com/labels/", "labels[].name", ""]
    assert out["lookup"]["labels[].description"] == {
        "by": "labels[].name",
        "values": DESCRIPTIONS,
    }
    # The milestone is the same wherever there is one; its title stays as the witness.
    assert out["constant_where"] == {"milestone.title": {"milestone.creator": "lead", "milestone.due_on": "2026-12-01"}}
    rows = as_dicts(out)
    # A label's color is a function of its name too: in list elements, which repeat their field
    # names, that pays even for short values.
    assert out["lookup"]["labels[].color"] == {"by": "labels[].name", "values": {"bug": "d73a4a", "docs": "0075ca"}}
    # One field left per label: each is shown by its name.
    assert out["element_field"] == {"labels": "name"}
    assert rows[0]["labels"] == ["bug", "docs"]  # n=1
    assert rows[1]["labels"] == ["bug"]
    # A null milestone is null in its one column left (the table then has one shape).
    assert "milestone" not in rows[2] and rows[2]["milestone.title"] is None and rows[1]["milestone.title"] == "v2.0"


def test_documents_it_cannot_carry_exactly_are_refused() -> None:
    big = [{"account": 123456789012345678901234 + i, "name": f"n{i}"} for i in range(20)]
    own_key = {"_headroom": "the user's own field", "rows": customer_rows(50)}
    for value in (big, own_key):
        segment = Segment(json.dumps(value), SegmentContext(), ContentKind.JSON)
        with pytest.raises(ValueError):
            CRUSHER.compress(segment)  # the pipeline turns this into "left untouched" + diagnostic


def test_real_dotted_keys_are_not_confused_with_nested_fields() -> None:
    rows = [{"a": {"b": i}, "a.b": f"literal {i * i % 7}x{i}", "id": i} for i in range(10)]
    out, result = crush(rows)
    assert not result.lossy
    rebuilt = as_dicts(out)
    assert [r["a"] for r in rebuilt] == [{"b": i} for i in range(10)]
    assert [r["a.b"] for r in rebuilt] == [f"literal {i * i % 7}x{i}" for i in range(10)]


def test_shortened_fields_carry_a_marker_when_the_root_is_not_an_object() -> None:
    issues = [
        {"n": 1, "body": FILLER * 4 + "The crash is in parse_header() since 3.11.2. " + FILLER},
        {"m": 2, "body": FILLER * 4 + "Nothing else to add here. " + FILLER},
        "a plain string element",
    ]
    segment = Segment(json.dumps(issues), SegmentContext(user_query="parse_header crash"), ContentKind.JSON)
    result = CRUSHER.compress(segment)
    out = json.loads(result.text)
    assert isinstance(out, list) and result.lossy
    assert all(find_refs(item["body"]) == [segment.ref] for item in out[:2] if "…" in item["body"])
    assert any("…" in item["body"] for item in out[:2])


@pytest.mark.parametrize(("bodies", "expected"), [(20, 160), (400, 96)])
def test_prose_model_budget_shrinks_with_the_document(
    bodies: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prose model's token budget is decided from the document's size alone: full for a
    small document, smaller (down to a floor) for a large one, where the rest of the work grows."""
    seen: list[int] = []
    real = json_data.compress_prose_fields

    def spy(*args: Any, **kwargs: Any) -> list[str | None]:
        seen.append(kwargs["options"].max_model_tokens)
        return real(*args, **kwargs)

    monkeypatch.setattr(json_data, "compress_prose_fields", spy)
    body = "The service restarts when the pool is exhausted. " * 12
    rows = [{"id": i, "title": f"Issue {i}", "body": f"Report {i}. {body}"} for i in range(bodies)]
    segment = Segment(json.dumps(rows), SegmentContext(user_query="why does the pool run out?"), ContentKind.JSON)
    JsonCompressor().compress(segment)
    assert seen and all(budget == expected for budget in seen)


def _hash(text: str, size: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def test_opaque_ids_twinned_with_a_readable_field_are_omitted_and_stay_retrievable() -> None:
    users = [
        {
            "login": f"user{i}",
            "id": 1000 + i,
            "node_id": base64.b64encode(f"04:User{1000 + i}".encode()).decode(),
            "gravatar_id": _hash(f"user{i}"),
            "avatar_url": f"https://secure.gravatar.com/avatar/{_hash(f'user{i}')}?d=identicon",
            "type": "User" if i % 9 else "Organization",
        }
        for i in range(30)
    ]
    out, result = crush(users)
    assert result.lossy and result.notes["columns_omitted"] == 3
    assert sorted(out["omitted"]) == ["avatar_url", "gravatar_id", "node_id"]
    assert "avatar_url" not in out.get("derived", {})  # nothing points at an omitted field
    assert "only in the original" in out[META_KEY] and find_refs(out[META_KEY])
    text = json.dumps(out)
    assert all(u["login"] in text and u["gravatar_id"] not in text for u in users)
    assert {orjson.dumps(leaf).decode() for leaf in leaves(out)} <= original_leaves(users)
    assert all(u["gravatar_id"] in result.lossless_text() for u in users)


def test_a_hash_that_is_the_only_name_of_its_row_stays() -> None:
    commits = [{"sha": _hash(f"c{i}", 40), "parents": [_hash(f"c{i - 1}", 40)], "size": 100 + i} for i in range(30)]
    files = [{"filename": f"pkg-{i}.tar.gz", "hashes": {"sha256": _hash(f"f{i}", 64)}} for i in range(30)]
    for value in (commits, files):
        out, result = crush(value)
        assert "omitted" not in out and not result.notes["columns_omitted"]
        assert all(_hash(f"c{i}", 40) in json.dumps(out) for i in range(30)) or value is files
        assert all(_hash(f"f{i}", 64) in json.dumps(out) for i in range(30)) or value is commits


def _restore_null_objects(row: dict[str, Any], prefixes: list[str]) -> dict[str, Any]:
    """Undo the fill as a reader would: all dotted columns of an object null -> the object null."""
    out = dict(row)
    for prefix in prefixes:
        inner = [c for c in row if c.startswith(prefix + ".")]
        if inner and all(row[c] is None for c in inner):
            for c in inner:
                del out[c]
            out[prefix] = None
    return out


def test_nested_objects_null_in_some_rows_become_null_columns_so_the_table_is_columnar() -> None:
    issues = [
        {
            "number": 100 + i,
            "title": f"issue {i}",
            "assignee": None if i % 3 else {"login": f"dev{i % 2}", "id": 10 + i % 2},
            "milestone": None if i % 2 else {"title": f"v{i % 4}", "due_on": None if i % 4 else "2026-12-01"},
        }
        for i in range(24)
    ]
    out, result = crush(issues)
    assert not result.lossy
    assert "an object whose dotted columns are all null was null" in out[META_KEY]
    assert out["columns"] == ["number", "title", "assignee.login", "assignee.id", "milestone.title", "milestone.due_on"]
    rows = [dict(zip(out["columns"], row, strict=True)) for row in out["rows"]]
    flat = [_restore_null_objects(row, ["assignee", "milestone"]) for row in rows]
    for original, restored in zip(issues, flat, strict=True):
        for key in ("assignee", "milestone"):
            if original[key] is None:
                assert restored[key] is None
            else:
                assert {f"{key}.{k}": v for k, v in original[key].items()} == {
                    k: v for k, v in restored.items() if k.startswith(key + ".")
                }


def test_an_object_whose_fields_are_all_null_is_not_confused_with_a_null_object() -> None:
    issues = [{"number": i, "title": f"t{i}", "milestone": None if i % 2 else {"title": None}} for i in range(24)]
    out, _ = crush(issues)
    assert "dotted columns are all null" not in json.dumps(out)
    assert json.loads(json.dumps(out)) == out


def test_a_list_element_whose_value_does_not_fit_the_derived_rule_keeps_its_own() -> None:
    names = ["bug", "docs", "visual studio", "core", "windows", "linux", "macOS", "ios", "android", "audio", "video"]
    issues = [
        {
            "number": i,
            "title": f"issue {i}",
            "labels": [
                {
                    "url": "https://api.example.com/labels/" + names[(i + k) % len(names)].replace(" ", "+"),
                    "name": names[(i + k) % len(names)],
                }
                for k in range(2)
            ],
        }
        for i in range(12)
    ]
    out, result = crush(issues)
    assert not result.lossy
    assert out["derived"]["labels[].url"] == ["https://api.example.com/labels/", "labels[].name", ""]
    labels = [label for row in as_dicts(out) for label in row["labels"]]
    assert {"url": "https://api.example.com/labels/visual+studio", "name": "visual studio"} in labels
    # The others are shown by their name alone.
    assert out["element_field"] == {"labels": "name"}
    assert {label for label in labels if isinstance(label, str)} == set(names) - {"visual studio"}


def test_a_derived_field_is_null_where_its_source_is_null() -> None:
    rows = [
        {
            "number": i,
            "pr_url": f"https://example.com/pull/{i}" if i % 3 else None,
            "diff_url": f"https://example.com/pull/{i}.diff" if i % 3 else None,
        }
        for i in range(12)
    ]
    out, result = crush(rows)
    assert not result.lossy
    assert out["derived"]["diff_url"] == ["", "pr_url", ".diff"]
    assert "null where its column is null" in out[META_KEY]
    assert all("diff_url" not in row for row in as_dicts(out))


def test_rows_named_only_by_a_line_number_and_a_time_get_no_index_but_a_range() -> None:
    """Parsed log events: line numbers counting up and times of day name nothing a reader
    asks for by sight; the marker gives the range and the retrieval instead of a long index."""
    users = ["root", "admin", "oracle", "test", "guest"]
    events = [
        {
            "line_id": 501 + i,
            "time": f"09:{12 + i // 60:02d}:{i % 60:02d}",
            "message": f"Failed password for invalid user {users[i % 5]} from 103.99.0.{i % 7} port {40000 + i} ssh2"
            if i % 50
            else f"Accepted password for deploy from 10.0.0.{i % 3} port 22 ssh2",
            "event_id": "E10" if i % 50 else "E5",
        }
        for i in range(450)
    ]
    out, result = crush(events)
    assert result.lossy and "other_rows" not in out
    assert identity_columns(events, list(events[0])) == []
    assert re.search(r"omitted \(line_id 50\d-9\d\d\)", out[META_KEY])
    assert "Accepted password for deploy" in json.dumps(out)
    # Beside a name, the counter still says which row is which.
    named = [{"line_id": e["line_id"], "user": f"user{e['line_id']}", "time": e["time"]} for e in events]
    assert identity_columns(named, ["line_id", "user", "time"]) == ["line_id", "user", "time"]


def test_identity_prefers_the_fuller_of_two_renderings_of_one_value() -> None:
    """PyPI lists each file's upload time twice: to the second and to the microsecond. The
    index names rows by the fuller one; the shorter only restates part of it."""
    rows = [
        {
            "filename": f"pkg-0.{i}.0.tar.gz",
            "upload_time": f"2020-05-{1 + i % 28:02d}T10:{i % 60:02d}:07",
            "upload_time_iso_8601": f"2020-05-{1 + i % 28:02d}T10:{i % 60:02d}:07.{629183 + i}Z",
        }
        for i in range(60)
    ]
    columns = ["filename", "upload_time", "upload_time_iso_8601"]
    assert identity_columns(rows, columns) == ["filename", "upload_time_iso_8601"]
    # A column that only sometimes starts the other is a value of its own: both compete.
    rows[5]["upload_time"] = "2021-01-01T00:00:00"
    assert identity_columns(rows, columns) == columns
    # A fuller rendering too wide to name rows leaves the short one in place: a commit's
    # subject is the start of its message.
    commits = [
        {"subject": f"Fix the {w} parser", "message": f"Fix the {w} parser\n\n" + "Long explanation. " * 20}
        for w in ("json", "yaml", "toml", "ini", "csv", "xml", "html", "css", "sql", "md") * 6
    ]
    for i, commit in enumerate(commits):
        commit["subject"] += f" ({i})"
        commit["message"] = commit["subject"] + commit["message"][commit["message"].index("\n") :]
    assert identity_columns(commits, ["subject", "message"]) == ["subject"]


def test_identity_leaves_out_a_column_written_inside_another() -> None:
    """PyPI's releases, flattened: each file row carries its release's version, which its file
    name already spells out. The index names rows by the file name alone."""
    rows = [
        {
            "key": f"0.{i // 2}.{i % 3}",
            "filename": f"httpx-0.{i // 2}.{i % 3}" + (".tar.gz" if i % 2 else "-py3-none-any.whl"),
        }
        for i in range(80)
    ]
    for i, row in enumerate(rows):
        row["size"] = 50_000 + 37 * i
    assert identity_columns(rows, ["key", "filename", "size"]) == ["filename", "size"]
    # Inside the other on most rows only: a value of its own.
    rows[3]["key"] = "yanked-0.1"
    assert identity_columns(rows, ["key", "filename", "size"]) == ["key", "filename", "size"]


def test_fields_only_some_rows_have_become_nulls_named_by_a_witness() -> None:
    """Issues and pull requests in one list: only pull requests have `draft` and
    `pull_request.*`. Null-filled and named in 'present_with', every row has the same columns."""
    rows = [
        {"number": 100 + i, "title": f"change {i} of {['api', 'docs', 'cli'][i % 3]}", "user": {"login": f"dev{i % 5}"}}
        | ({"draft": i % 4 == 1, "pull_request": {"url": f"https://example.com/pulls/{i}"}} if i % 2 else {})
        for i in range(30)
    ]
    out, result = crush(rows)
    assert not result.lossy
    assert out["present_with"] == {"draft": ["pull_request.url"]}
    assert "present_with" in out[META_KEY]
    restored = []
    for row in as_dicts(out):
        if row["draft"] is None:
            row = {k: v for k, v in row.items() if k not in ("draft", "pull_request.url")}
        restored.append(row)
    flat = [
        {k: v for k, v in r.items() if k not in ("user", "pull_request")}
        | {"user.login": r["user"]["login"]}
        | ({"pull_request.url": r["pull_request"]["url"]} if "pull_request" in r else {})
        for r in rows
    ]
    assert [dict(sorted(r.items())) for r in restored] == [dict(sorted(r.items())) for r in flat]


def test_the_witness_of_fields_constant_where_present_is_the_cheapest_one() -> None:
    """The same milestone on every issue that has one: its fields are constant there, and the
    column left to say where is its number, not its creator's URL."""
    milestone = {
        "creator": {"url": "https://api.github.com/users/bilderbuchi", "login": "bilderbuchi"},
        "title": "0072 Release",
        "number": 5,
    }
    rows = [
        {"number": 900 + i, "title": f"issue {i} about {['video', 'gl', 'sound'][i % 3]}"}
        | ({"milestone": milestone} if i % 3 == 0 else {})
        for i in range(30)
    ]
    out, result = crush(rows)
    assert not result.lossy
    (witness,) = out["constant_where"]
    assert witness == "milestone.number"
    assert out["constant_where"][witness]["milestone.creator.url"] == "https://api.github.com/users/bilderbuchi"
    assert [row[witness] for row in as_dicts(out)] == [5 if i % 3 == 0 else None for i in range(30)]


def test_an_object_only_two_rows_share_is_factored_too() -> None:
    """One assignee on two issues of thirty (PyGithub's open list): his URLs were a column each,
    null in every other row, for want of a third row to show they are constant where present."""
    login = "EnricoMi"
    kinds = ("followers", "gists", "repos", "events")
    assignee = {"login": login, "id": 44700269} | {
        f"{kind}_url": f"https://api.github.com/users/{login}/{kind}" for kind in kinds
    }
    rows = [
        {"number": 3000 + i, "title": f"issue {i} about {['auth', 'pagination', 'retries'][i % 3]}"}
        | ({"assignee": assignee} if i in (4, 17) else {"assignee": None})
        for i in range(30)
    ]
    out, result = crush(rows)
    assert not result.lossy
    (witness,) = out["constant_where"]
    assert out["constant_where"][witness]["assignee.repos_url"] == f"https://api.github.com/users/{login}/repos"
    shown = as_dicts(out)
    assert not any(column.endswith("_url") for column in out["columns"])
    assert [row[witness] is not None for row in shown] == [i in (4, 17) for i in range(30)]
    assert [(row["number"], row["title"]) for row in shown] == [(r["number"], r["title"]) for r in rows]


def test_sparse_fields_stay_in_object_form_when_the_nulls_would_cost_more() -> None:
    rows = [{"id": i, "name": f"n{i}"} | ({f"extra{i}": "x"} if i % 3 == 0 else {}) for i in range(30)]
    out, _ = crush(rows)
    assert "present_with" not in json.dumps(out)


def test_constant_hashes_beside_a_login_go_but_constant_names_that_look_opaque_stay() -> None:
    issues = [
        {
            "number": i,
            "title": f"issue {i} about {['io', 'ui', 'db'][i % 3]}",
            "assignee": {"login": "jacquev6", "gravatar_id": _hash("jacquev6")},
            "repository": {"full_name": "jacquev6/PyGithub", "name": "PyGithub", "node_id": "MDEwOlJlcG9zaXRvcnkz"},
        }
        for i in range(30)
    ]
    out, result = crush(issues)
    assert "assignee.gravatar_id" in out["omitted"] and result.lossy
    assert out["constant"]["repository.full_name"] == "jacquev6/PyGithub"
    assert _hash("jacquev6") not in json.dumps(out) and _hash("jacquev6") in result.lossless_text()


def test_a_rank_counting_the_rows_from_one_is_their_position() -> None:
    hits = [
        {"rank": i + 1, "doc": f"doc{i % 7}", "passage": f"passage {i} of {['a', 'b', 'c'][i % 3]}"} for i in range(12)
    ]
    out, result = crush(hits)
    assert not result.lossy
    assert out["counter"] == {"rank": 1} and "rank" not in out["columns"]
    assert [dict(zip(out["columns"], row, strict=True)) | {"rank": 1 + i} for i, row in enumerate(out["rows"])] == hits


def _packages(n: int) -> dict[str, Any]:
    """A lockfile's `packages`: records keyed by install path, a few with fields of their own."""
    return {
        f"node_modules/pkg-{i:03d}": {
            "version": f"1.{i % 7}.{i}",
            "resolved": f"https://registry.example.org/pkg-{i:03d}/-/pkg-{i:03d}-1.{i % 7}.{i}.tgz",
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(str(i).encode()).digest()).decode(),
            "license": "MIT" if i % 5 else "ISC",
            "dev": True,
            **({"engines": {"node": ">=18"}} if i % 9 == 0 else {}),
        }
        for i in range(n)
    }


def test_an_object_of_similar_records_keyed_by_name_is_a_table_with_a_key_column() -> None:
    packages = _packages(120)
    out, result = crush({"lockfileVersion": 3, "packages": packages})
    table = out["packages"]
    assert table["keyed"] == "key" and "keyed" in out[META_KEY]
    assert table["constant"] == {"dev": True}
    rows = (
        table["rows"]
        if "columns" not in table
        else [dict(zip(table["columns"], r, strict=True)) for r in table["rows"]]
    )
    named = {row["key"] for row in rows}
    if "other_rows" in table:
        at = table["other_rows"]["columns"].index("key")
        named |= {row[at] for row in table["other_rows"]["rows"]}
    assert named == set(packages)  # every member named, by its own key
    # Nulls stand for absent fields, as 'present_with' says.
    allowed = original_leaves(packages) | {orjson.dumps(name).decode() for name in packages} | {"null"}
    assert all(orjson.dumps(leaf).decode() in allowed for leaf in leaves(table))
    assert len(result.text) < 0.6 * len(json.dumps({"lockfileVersion": 3, "packages": packages}))


def _releases(n: int) -> dict[str, list[dict[str, Any]]]:
    """PyPI's `releases`: each version's files (an sdist and a wheel), a few versions with none."""
    releases: dict[str, list[dict[str, Any]]] = {}
    for i in range(n):
        version = f"0.{i // 10}.{i % 10}"
        releases[version] = (
            [
                {
                    "filename": f"pkg-{version}{suffix}",
                    "packagetype": kind,
                    "requires_python": ">=3.6" if i < n // 2 else ">=3.8",
                    "size": 50_000 + 37 * i + len(suffix),
                    "digests": {"sha256": hashlib.sha256(f"{version}{suffix}".encode()).hexdigest()},
                    "upload_time": f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:07",
                    "yanked": False,
                }
                for suffix, kind in ((".tar.gz", "sdist"), ("-py3-none-any.whl", "bdist_wheel"))
            ]
            if i % 17
            else []
        )
    return releases


def test_an_object_of_lists_of_records_is_one_table_with_a_key_column() -> None:
    """Each version's list of files is too short to be a table of its own; all of them are one,
    each row naming the version it was listed under, and the versions with no files named."""
    releases = _releases(60)
    out, result = crush({"info": {"name": "pkg"}, "releases": releases})
    table = out["releases"]
    assert table["grouped"] == "key" and "'grouped' column" in out[META_KEY]
    assert table["empty_groups"] == [version for version, files in releases.items() if not files]
    assert table["constant"] == {"yanked": False}
    rows = [dict(zip(table["columns"], r, strict=True)) for r in table["rows"]]
    assert "other_rows" in table
    columns = table["other_rows"]["columns"]
    # The index names each file by its name, which spells out its version ("pkg-0.3.1.tar.gz"):
    # the key column it was listed under would only repeat it.
    assert "filename" in columns and "key" not in columns
    by_name = {f["filename"]: version for version, files in releases.items() for f in files}
    rows += [
        {**dict(zip(columns, r, strict=True)), "key": by_name[r[columns.index("filename")]]}
        for r in table["other_rows"]["rows"]
    ]
    assert all(row["key"] in row["filename"] for row in rows)
    listed = [(version, f["filename"]) for version, files in releases.items() for f in files]
    assert sorted((row["key"], row["filename"]) for row in rows) == sorted(listed)
    allowed = original_leaves(releases) | {"null"}
    assert all(orjson.dumps(leaf).decode() in allowed for leaf in leaves(table))
    assert len(result.text) < 0.6 * len(json.dumps({"info": {"name": "pkg"}, "releases": releases}))


def test_an_object_of_lists_that_are_not_records_stays_an_object() -> None:
    tags = {f"team-{i}": [f"user{i}", f"user{i + 1}"] for i in range(20)}
    assert crush({"tags": tags})[0] == {"tags": tags}
    mixed = {f"v{i}": [{"a": i}] if i % 2 else {"a": i} for i in range(20)}
    assert crush(mixed)[0] == mixed


def test_the_key_column_takes_a_name_no_record_uses() -> None:
    records = {f"user-{i}": {"key": f"k{i}", "name": f"User {i}", "team": "core"} for i in range(12)}
    out, _ = crush(records)
    assert out["keyed"] == "key_0"
    assert out["constant"] == {"team": "core"}


def test_objects_of_unrelated_or_few_records_stay_objects() -> None:
    sections = {
        "build": {"target": "es2022", "minify": True},
        "lint": {"rules": 12},
        "test": {"runner": "pytest", "workers": 2},
        "deploy": {"region": "eu", "replicas": 3, "canary": False},
    }
    assert crush(sections)[0] == sections
    three = dict(list(_packages(3).items()))
    assert crush(three)[0] == three
    off = JsonCompressor(JsonOptions(keyed_min_rows=None))
    packages = _packages(50)
    text = off.compress(Segment(json.dumps(packages), SegmentContext(), ContentKind.JSON)).text
    assert "keyed" not in text and set(json.loads(text)) == set(packages)


def test_nested_maps_of_records_cost_work_in_proportion_to_their_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    """A map of records whose last record holds another such map, 20 levels deep (a dependency
    tree): each keyed-table attempt crushes its subtree, and attempts inside attempts would
    double the work per level (over 100k crush calls for 2 KB)."""
    counter = iter(range(10**6))

    def level(depth: int) -> dict[str, Any]:
        members: dict[str, Any] = {f"k{next(counter)}": {"a": k, "s": {}} for k in range(3)}
        members[f"k{next(counter)}"] = {"a": 9, "s": level(depth - 1) if depth else {}}
        return members

    calls = 0
    crush_one = json_data._Crusher.crush

    def counted(self: Any, value: Any) -> Any:
        nonlocal calls
        calls += 1
        return crush_one(self, value)

    monkeypatch.setattr(json_data._Crusher, "crush", counted)
    document = level(20)
    out, _ = crush(document)
    assert calls < 5_000
    assert json.loads(json.dumps(out)) == out


def test_only_meta_keys_of_a_table_are_cited_not_data_fields_that_share_their_name() -> None:
    """A data field called `constant` is no meta a later page may cite as "'constant' as in h_…"."""
    rows = [
        {"id": i, "kind": ["bug", "feature", "task"][i % 3], "title": f"module {i * 7919 % 1000} fails at startup"}
        for i in range(300)
    ]
    document = {"settings": {"constant": {"state": "open", "locked": False}}, "events": rows}
    segment = Segment(json.dumps(document), SegmentContext("tool"), ContentKind.JSON)
    sent = CRUSHER.compress(segment).text
    assert segment.ref in sent and '"constant":{"state":"open"' in sent  # the data field, sent as data
    tables = json_data.json_tables(segment.text, sent)
    assert tables is not None
    assert "constant" not in tables.meta


def test_records_with_fields_of_their_own_stay_records() -> None:
    """Events whose attributes are keyed by name: more distinct fields than records. As a
    table they would be mostly empty cells (and every pass over its columns visits every row);
    each record is crushed as itself, every value still there."""
    events = [
        {"id": i, "name": f"job-{i}", f"attempt_{i}": i % 3, f"host_{i}": f"10.0.{i % 7}.{i}"} for i in range(600)
    ]
    out, result = crush(events, "which host ran job-77?")
    assert isinstance(out, list) and len(out) == len(events)
    assert out[77] == events[77]
    assert not result.lossy
    # A table of similar records with optional fields is still a table.
    tickets = [
        {"id": i, "state": "open" if i % 4 else "closed", **({"assignee": f"u{i % 9}"} if i % 3 else {})}
        for i in range(600)
    ]
    tabled, _ = crush(tickets)
    assert isinstance(tabled, dict) and "rows" in json.dumps(tabled)


def test_findings_told_apart_by_line_numbers_are_named_by_their_rule_too() -> None:
    """ruff's JSON report: no field names a finding (files and rules are shared by many, line
    numbers repeat across files), so the rows behind the marker carry the rule with their
    lines, and a column repeating another (`noqa_row` beside `location.row`) is not listed twice."""
    import subprocess
    import sys
    from pathlib import Path

    ruff = Path(sys.executable).parent / "ruff"
    sources = [str(Path(json_data.__file__).parent / name) for name in ("json_data.py", "table.py")]
    args = [str(ruff), "check", "--isolated", "--select", "ALL", "--output-format", "json", *sources]
    report = json.loads(subprocess.run(args, capture_output=True, text=True, timeout=300, check=False).stdout)
    assert len(report) > 200 and len({f["location"]["row"] for f in report}) < len(report)
    out, _ = crush(report, query="which rules fire most?", args='{"command": "ruff check --output-format json"}')
    index = out["other_rows"]
    assert index["columns"][0] == "code"
    assert len(index["rows"]) + len(out["rows"]) == len(report)
    assert "plan" not in identity_columns(customer_rows(50), list(customer_rows(1)[0]))  # ids name rows
    findings = [{"rule": f"R{k % 4}x", "row": 7 * k % 60, "noqa_row": 7 * k % 60, "col": k % 9} for k in range(80)]
    assert identity_columns(findings, ["rule", "row", "noqa_row", "col"]) == ["rule", "row"]


def test_big_values_repeated_across_the_rows_shown_are_listed_once_with_their_rows_ids() -> None:
    # Maps whose names change from run to run stay whole (they are no nested record to flatten).
    scripts = [{f"test:{n}": f"jest --config {n}.json", f"lint:{n}": "eslint index.js lib/*.js"} for n in range(3)]
    rows = [
        {"version": f"1.{i}.0", "main": "index.js", "engines": f">={10 + i}", "scripts": scripts[i // 5]}
        for i in range(15)
    ]
    out, result = crush(rows)
    shared = out["shared"]["scripts"]
    assert "scripts" not in out["columns"] and "shared" in out[META_KEY]
    # Each distinct value once, with every row holding it named by its version.
    assert [entry["value"] for entry in shared] == scripts
    by_version = {version: entry["value"] for entry in shared for version in entry["version"]}
    assert by_version == {row["version"]: row["scripts"] for row in rows}
    assert not result.lossy


def test_values_that_do_not_repeat_enough_stay_in_their_rows() -> None:
    rows = [{"version": f"1.{i}.0", "scripts": {f"test:{i}": f"jest --config {i}.json --coverage"}} for i in range(15)]
    out, _ = crush(rows)
    assert "shared" not in json.dumps(out)
