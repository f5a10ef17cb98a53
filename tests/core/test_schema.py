"""The JSON Schema of strategy v1 and the Python validator agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pillow_grace import Strategy, StrategyError
from pillow_grace.core import registry
from pillow_grace.schema import strategy_schema
from tests.support.strategy_docs import BAD_FIELDS, DELETE, doc_of, set_path

jsonschema = pytest.importorskip("jsonschema")

PLUGIN_DIR = Path(__file__).parents[1] / "plugins" / "grace_test_plugin"
PLUGIN_STRATEGY = PLUGIN_DIR / "grace_test_plugin" / "plugin-test.json"
#: BAD_FIELDS entries that only the Python validator can reject (test_python_only_checks).
PYTHON_ONLY = {"provenance.notes", "provenance.big", "colour.weights=[0.5, 0.5, 0.5]"}


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = strategy_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def shipped_files() -> list[Path]:
    return [loc for _n, origin, loc in registry.strategy_sources() if origin == "shipped"]  # type: ignore[misc]


def test_hand_built_strategies_validate(validator: Any, make_strategy: Any) -> None:
    for s in (
        make_strategy(),
        make_strategy("ones", tables="ones", perception=None),
        make_strategy("extreme", weights=(0.05, 0.05, 0.9), subsampling="4:2:0",
                      model_input_size=(224, 224), probe_resolution=(1280, 720),
                      provenance={"probe_images": 64, "date": "2026-11-27", "library_version": "0.1.0",
                                  "loss": {"name": "kl", "labels": [1, 2, 3]}}),
    ):
        validator.validate(json.loads(s.to_json()))


@pytest.mark.parametrize("path", [*shipped_files(), PLUGIN_STRATEGY], ids=lambda p: p.name)
def test_shipped_and_plugin_strategy_files_validate(validator: Any, path: Path) -> None:
    validator.validate(json.loads(path.read_text()))
    Strategy.load(path)


def test_newer_minor_version_with_extra_fields_is_valid_for_both(validator: Any, strategy: Strategy) -> None:
    doc = doc_of(strategy)
    doc["version"] = "1.3"
    doc["new_field"] = True
    doc["colour"]["extra"] = 1
    validator.validate(doc)
    Strategy.from_dict(doc)


@pytest.mark.parametrize(
    ("path", "value", "field"), BAD_FIELDS, ids=[f"{p}={v!r:.20}" for p, v, _ in BAD_FIELDS]
)
def test_schema_rejects_what_python_rejects(
    validator: Any, strategy: Strategy, path: str, value: Any, field: str
) -> None:
    bad = set_path(doc_of(strategy), path, value)
    with pytest.raises(StrategyError):
        Strategy.from_dict(bad)
    if path in PYTHON_ONLY or f"{path}={value!r}" in PYTHON_ONLY:
        assert validator.is_valid(bad)  # documented gap, see test_python_only_checks
        return
    assert not validator.is_valid(bad), f"schema accepts {path}={value!r}"


def test_python_only_checks(validator: Any, strategy: Strategy) -> None:
    """What JSON Schema cannot express; the schema's description lists these."""
    deep: Any = 1
    for _ in range(9):
        deep = [deep]
    cases = {
        "weights do not sum to 1": set_path(doc_of(strategy), "colour.weights", [0.5, 0.5, 0.5]),
        "content hash mismatch": {**strategy.to_dict(), "name": "renamed"},
        "provenance too deep": set_path(doc_of(strategy), "provenance", {"deep": deep}),
        "provenance too big": set_path(doc_of(strategy), "provenance", {"l": list(range(10_001))}),
        "nested string too long": set_path(doc_of(strategy), "provenance.notes", "n" * 5000),
        "integer not portable": set_path(doc_of(strategy), "provenance.big", 2**60),
    }
    for what, doc in cases.items():
        assert validator.is_valid(doc), what
        with pytest.raises(StrategyError):
            Strategy.from_dict(doc)


def test_valid_documents_agree(validator: Any, strategy: Strategy) -> None:
    variants = [
        set_path(doc_of(strategy), "model", None),
        set_path(doc_of(strategy), "perception", None),
        set_path(doc_of(strategy), "allocation.quality", None),
        set_path(doc_of(strategy), "quantization.subsampling", DELETE),
        set_path(doc_of(strategy), "quantization.tables[0][0]", 255),
        set_path(doc_of(strategy), "quantization.tables[0][1]", 7.0),  # an integral number is an integer
        set_path(doc_of(strategy), "colour.weights", [0.05, 0.05, 0.9]),
        set_path(doc_of(strategy), "provenance", {"anything": {"goes": [1, "two", None, True]}}),
    ]
    for doc in variants:
        validator.validate(doc)
        Strategy.from_dict(doc)
