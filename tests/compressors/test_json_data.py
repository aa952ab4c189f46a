"""SmartCrusher: valid JSON, only original values, lossless factoring, anomaly-aware row selection."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import find_refs
from headroom.compressors.json_data import META_KEY, JsonCompressor
from headroom.segments import ContentKind, Segment, SegmentContext
from tests.factories import customer_rows

CRUSHER = JsonCompressor()


def crush(value: Any, query: str = "", args: str = "") -> tuple[Any, Any]:
    segment = Segment(json.dumps(value), SegmentContext("tool", args, query), ContentKind.JSON)
    result = CRUSHER.compress(segment)
    return json.loads(result.text), result


# Keys whose values are headroom's own notes or column names, not data values.
STRUCTURE_KEYS = (META_KEY, "derived", "columns", "by")


def leaves(value: Any, skip_meta: bool = True) -> list[Any]:
    """Every scalar value, ignoring the marker/metadata keys headroom adds."""
    if isinstance(value, dict):
        return [
            leaf
            for k, v in value.items()
            if not (skip_meta and k in STRUCTURE_KEYS)
            for leaf in leaves(v, skip_meta)
        ]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v, skip_meta)]
    return [value]


def original_leaves(value: Any) -> set[str]:
    return {orjson.dumps(leaf).decode() for leaf in leaves(value, skip_meta=False)}


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
    assert "rows omitted" in out[META_KEY] and find_refs(out[META_KEY])
    assert "id 1" in out[META_KEY]  # the marker names the dropped id range
    assert result.lossless_text is not None and len(json.loads(result.lossless_text)["rows"]) == 800
    assert "suspended" in text


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
