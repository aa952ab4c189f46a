"""The public surface: `headroom.__all__` is exactly what the README promises, every module's
`__all__` names real attributes, and the documented exceptions are raised."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import headroom
from headroom.errors import AdapterError, CompressorError, HeadroomError
from headroom.formats import adapter_for
from headroom.pipeline import Pipeline
from headroom.segments import ContentKind, Segment

PUBLIC = {
    "AdapterError",
    "CompressConfig",
    "CompressResult",
    "CompressStats",
    "Compressed",
    "CompressedRequest",
    "Compressor",
    "CompressorError",
    "ContentKind",
    "HeadroomError",
    "Pipeline",
    "Provenance",
    "RetrievalResult",
    "Segment",
    "SegmentContext",
    "SharedUnit",
    "StoreError",
    "TransformStats",
    "UnitReport",
    "__version__",
    "compress",
    "compress_request",
    "provenance",
    "retrieve",
    "share",
}


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(headroom.__path__, "headroom."))


def test_the_package_exports_exactly_the_public_api() -> None:
    assert set(headroom.__all__) == PUBLIC  # a change here is a change of the public API
    assert len(headroom.__all__) == len(PUBLIC)  # no duplicates
    for name in headroom.__all__:
        assert getattr(headroom, name) is not None


@pytest.mark.parametrize("module_name", _modules())
def test_every_module_all_names_what_it_defines(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        assert hasattr(module, "__path__"), f"{module_name} has no __all__"  # only packages may omit it
        return
    assert sorted(names) == sorted(set(names)), f"{module_name}.__all__ has duplicates"
    missing = [name for name in names if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what it does not define: {missing}"


def test_an_unknown_wire_format_raises_adapter_error() -> None:
    with pytest.raises(AdapterError) as raised:
        adapter_for("gemini", {"contents": []})
    assert isinstance(raised.value, HeadroomError) and isinstance(
        raised.value, ValueError
    )  # callers catching ValueError still do


def test_compress_rejects_an_unknown_format_with_adapter_error() -> None:
    with pytest.raises(AdapterError):
        headroom.compress([{"role": "user", "content": "hi"}], format="gemini")


class _Refuses:
    name = "refuses"
    kinds = frozenset({ContentKind.TEXT})
    priority = 0

    def compress(self, segment: Segment) -> None:
        raise CompressorError("this input is not mine")


def test_a_compressor_error_keeps_the_original_with_a_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("headroom.pipeline.route", lambda kind, json_text=False, registry=None: _Refuses())
    text = "plain words " * 200
    out, report = Pipeline().compress_text(text)
    assert out == text
    assert report.diagnostic is not None and "refuses" in report.diagnostic and "not mine" in report.diagnostic
