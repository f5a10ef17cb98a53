"""Strategy format v1: round trip, the public API, and hostile files."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pillow_grace
from pillow_grace import Strategy, StrategyError
from pillow_grace.core.strategy import FORMAT_VERSION, MAX_FILE_BYTES, MIN_WEIGHT, Allocation, Perception
from tests.support.strategy_docs import BAD_FIELDS, doc_of, set_path


# -- round trip and API ------------------------------------------------------------
def test_save_load_round_trip_keeps_every_field(strategy: Strategy, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    strategy.save(path)
    loaded = Strategy.load(path)
    assert loaded == strategy
    assert loaded.content_hash == strategy.content_hash
    assert loaded.perception == strategy.perception and loaded.allocation == strategy.allocation
    assert dict(loaded.provenance) == dict(strategy.provenance)
    on_disk = json.loads(path.read_text())
    assert on_disk == strategy.to_dict()
    assert on_disk["content_hash"] == strategy.content_hash
    assert not list(tmp_path.glob("*.tmp")), "save() left a temporary file behind"


def test_public_attributes(make_strategy: Any) -> None:
    s = make_strategy("attrs", weights=(0.2, 0.6, 0.2), task="detection",
                      model_input_size=(320, 320), probe_resolution=(1280, 720))
    assert (s.name, s.task, s.weights) == ("attrs", "detection", (0.2, 0.6, 0.2))
    assert len(s.tables) == 3 and all(len(t) == 64 for t in s.tables)
    assert s.subsampling == "4:4:4" and s.version == FORMAT_VERSION
    assert s.model_input_size == (320, 320) and s.probe_resolution == (1280, 720)
    assert s.allocation is not None and s.allocation.method == "lagrangian"
    assert s.content_hash.startswith("sha256:") and len(s.content_hash) == 71
    assert pillow_grace.Strategy is Strategy


def test_strategy_is_immutable_including_provenance(strategy: Strategy) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        strategy.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        strategy.provenance["probe_images"] = 5  # type: ignore[index]
    nested = dataclasses.replace(strategy, provenance={"a": {"b": [1, 2]}})
    with pytest.raises(TypeError):
        nested.provenance["a"]["b"] = 3  # type: ignore[index]
    assert isinstance(nested.provenance["a"]["b"], tuple)
    assert hash(strategy) == hash(Strategy.from_dict(strategy.to_dict()))


def test_pickle_and_deepcopy(strategy: Strategy) -> None:
    nested = dataclasses.replace(strategy, provenance={"a": {"b": [1, 2]}})
    for s in (strategy, nested):
        for clone in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s)):
            assert clone == s and clone.content_hash == s.content_hash
            assert isinstance(clone.provenance, type(s.provenance))


def test_construction_normalises_numpy_and_lists(strategy: Strategy) -> None:
    s = Strategy(
        name="np", task="other", weights=np.array([0.25, 0.5, 0.25]),  # type: ignore[arg-type]
        tables=np.full((3, 64), 7, dtype=np.int64),  # type: ignore[arg-type]
        perception=Perception(*(np.asarray(m, dtype=np.float32) for m in (
            strategy.perception.grad_abs_mean, strategy.perception.grad_sq_mean,  # type: ignore[union-attr]
            strategy.perception.coef_abs_mean))),  # type: ignore[union-attr]
    )
    assert s.weights == (0.25, 0.5, 0.25) and type(s.weights[0]) is float
    assert s.tables[2][63] == 7 and type(s.tables[2][63]) is int
    json.loads(s.to_json())  # everything is plain JSON


def test_content_hash_covers_every_field(strategy: Strategy) -> None:
    changes: dict[str, Any] = {
        "name": "x", "task": "other", "weights": (0.3, 0.4, 0.3),
        "tables": ((2,) * 64,) * 3, "subsampling": "4:2:0", "perception": None,
        "allocation": Allocation("paper", 1e-3), "description": "y",
        "model_input_size": (10, 10), "probe_resolution": (20, 20), "provenance": {"z": 1},
    }
    hashes = {strategy.content_hash}
    for field, value in changes.items():
        hashes.add(dataclasses.replace(strategy, **{field: value}).content_hash)
    assert len(hashes) == len(changes) + 1


def test_to_json_lays_tables_out_as_8x8(strategy: Strategy) -> None:
    text = strategy.to_json()
    row = ", ".join(str(q) for q in strategy.tables[0][:8])
    assert row in text  # one table row of 8 steps per line
    assert json.loads(text) == strategy.to_dict()


def test_validate_accepts_dict_bytes_and_path(strategy: Strategy, tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    strategy.save(path)
    assert Strategy.validate(strategy.to_dict()) is None
    assert Strategy.validate(path.read_bytes()) is None
    assert Strategy.validate(path) is None and Strategy.validate(str(path)) is None
    with pytest.raises(StrategyError, match=r"colour\.weights"):
        Strategy.validate(set_path(doc_of(strategy), "colour.weights", [0.5, 0.5, 0.5]))


def test_with_tables_validates(strategy: Strategy) -> None:
    assert strategy.with_tables(((3,) * 64,) * 3).tables[1][0] == 3
    with pytest.raises(StrategyError) as e:
        strategy.with_tables(((3,) * 64, (3,) * 64, (0,) * 64))
    assert e.value.field == "quantization.tables[2][0]"


# -- field-level errors name the field ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "field"), BAD_FIELDS, ids=[f"{p}={v!r:.20}" for p, v, _ in BAD_FIELDS]
)
def test_bad_field_is_named(strategy: Strategy, path: str, value: Any, field: str) -> None:
    bad = set_path(doc_of(strategy), path, value)
    with pytest.raises(StrategyError) as e:
        Strategy.from_json(json.dumps(bad), source="bad.json")
    assert e.value.field == field
    assert f"'{field}'" in str(e.value) and str(e.value).startswith("bad.json: ")


def test_direct_construction_errors_name_the_field(strategy: Strategy) -> None:
    cases = [
        (dict(weights=(0.5, 0.5, 0.5)), "colour.weights"),
        (dict(tables=((1,) * 64,) * 2), "quantization.tables"),
        (dict(subsampling="4:4:0"), "quantization.subsampling"),
        (dict(model_input_size=(0, 1)), "model.input_size[0]"),
        (dict(provenance={"probe_images": -3}), "provenance.probe_images"),
        (dict(provenance={"obj": object()}), "provenance.obj"),
        (dict(version=(2, 0)), "version"),
        (dict(name=""), "name"),
    ]
    for change, field in cases:
        with pytest.raises(StrategyError) as e:
            dataclasses.replace(strategy, **change)
        assert e.value.field == field, change
    with pytest.raises(StrategyError) as e:
        Allocation("lagrangian", float("nan"))
    assert e.value.field == "allocation.parameter"
    with pytest.raises(StrategyError) as e:
        Perception([[0.0] * 64] * 3, [[0.0] * 64] * 3, [[float("inf")] * 64] * 3)
    assert e.value.field == "perception.coef_abs_mean[0][0]"


def test_weights_at_the_limits(strategy: Strategy) -> None:
    ok = dataclasses.replace(strategy, weights=(MIN_WEIGHT, MIN_WEIGHT, 1 - 2 * MIN_WEIGHT))
    assert ok.weights[0] == MIN_WEIGHT
    nearly = dataclasses.replace(strategy, weights=(0.3, 0.4, 0.3 + 5e-7))  # within the 1e-6 tolerance
    assert sum(nearly.weights) == pytest.approx(1, abs=1e-6)
    with pytest.raises(StrategyError, match="sum to 1"):
        dataclasses.replace(strategy, weights=(0.3, 0.4, 0.3 + 5e-6))


# -- hostile JSON -------------------------------------------------------------------------
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(strategy: Strategy, literal: str) -> None:
    text = json.dumps(doc_of(strategy)).replace('"weights": [0.3,', f'"weights": [{literal},', 1)
    assert literal in text
    with pytest.raises(StrategyError, match=f"{literal.lstrip('-')} is not allowed"):
        Strategy.from_json(text)


def test_overflowing_float_is_named_not_accepted_as_infinity(strategy: Strategy) -> None:
    text = json.dumps(set_path(doc_of(strategy), "allocation.parameter", 123.4567))
    text = text.replace("123.4567", "1e999")  # json.loads turns this into inf
    with pytest.raises(StrategyError) as e:
        Strategy.from_json(text)
    assert e.value.field == "allocation.parameter" and "finite" in str(e.value)


def test_deep_nesting_is_an_error_not_a_crash(strategy: Strategy) -> None:
    # Deeper than the JSON parser's recursion limit: must not be a RecursionError.
    with pytest.raises(StrategyError, match="nested too deeply"):
        Strategy.from_json("[" * 200_000 + "]" * 200_000)
    # Parseable, but deeper than the provenance cap.
    deep: Any = 1
    for _ in range(9):
        deep = {"d": deep}
    with pytest.raises(StrategyError) as e:
        Strategy.from_dict(set_path(doc_of(strategy), "provenance", {"x": deep}))
    assert e.value.field is not None and e.value.field.startswith("provenance.x.d")
    assert "nested" in str(e.value)


def test_provenance_size_is_capped(strategy: Strategy) -> None:
    with pytest.raises(StrategyError, match="more than 10000 values"):
        Strategy.from_dict(set_path(doc_of(strategy), "provenance", {"list": list(range(10_001))}))
    with pytest.raises(StrategyError) as e:
        Strategy.from_dict(set_path(doc_of(strategy), "provenance", {"k" * 129: 1}))
    assert e.value.field == "provenance"
    fine = Strategy.from_dict(
        set_path(doc_of(strategy), "provenance", {"list": list(range(9_990)), "n": None})
    )
    assert len(fine.provenance["list"]) == 9_990


def test_duplicate_keys_are_refused(strategy: Strategy) -> None:
    text = json.dumps(doc_of(strategy))
    text = text.replace('"task": "classification"', '"task": "classification", "task": "detection"')
    with pytest.raises(StrategyError, match="appears twice") as e:
        Strategy.from_json(text)
    assert e.value.field == "task"


def test_size_cap(strategy: Strategy, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    text = strategy.to_json()
    big.write_text(text[:-2] + " " * (MAX_FILE_BYTES - len(text) + 10) + "}\n")
    with pytest.raises(StrategyError, match="byte cap"):
        Strategy.load(big)
    with pytest.raises(StrategyError, match="byte cap"):
        Strategy.from_json(big.read_bytes())


def test_files_are_never_executed_or_unpickled(strategy: Strategy, tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> Any:
            return (pytest.fail, ("unpickled!",))

    p = tmp_path / "evil.json"
    p.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(StrategyError, match="not valid JSON"):
        Strategy.load(p)
    code = tmp_path / "evil2.json"
    code.write_text("__import__('os').system('echo hacked')")
    with pytest.raises(StrategyError, match="not valid JSON"):
        Strategy.load(code)


@pytest.mark.parametrize("data", [b"", b"[]", b"null", b'"grace"', b"\xff\xfe\x00", b"{"])
def test_not_a_strategy_document(data: bytes) -> None:
    with pytest.raises(StrategyError):
        Strategy.from_json(data)


def test_unreadable_file_is_a_strategy_error(tmp_path: Path) -> None:
    with pytest.raises(StrategyError, match="cannot read"):
        Strategy.load(tmp_path / "missing.json")
    with pytest.raises(StrategyError, match="cannot read"):
        Strategy.load(tmp_path)  # a directory


# -- versions and the content hash ----------------------------------------------------------
def test_unknown_major_version_is_refused_clearly(strategy: Strategy) -> None:
    with pytest.raises(StrategyError, match=r"format 2\.x is not supported.*upgrade pillow-grace"):
        Strategy.from_dict(set_path(doc_of(strategy), "version", "2.0"))


def test_newer_minor_version_is_read_and_its_new_fields_ignored(strategy: Strategy) -> None:
    doc = set_path(strategy.to_dict(), "version", "1.7")
    doc["colour"]["gamma"] = 2.2
    doc["future_field"] = {"anything": [1, 2]}
    doc["content_hash"] = "sha256:" + "0" * 64  # computed over fields this reader cannot see
    loaded = Strategy.from_dict(doc)
    assert loaded.weights == strategy.weights and loaded.tables == strategy.tables
    assert loaded.version == FORMAT_VERSION  # what this library holds, and writes back
    assert json.loads(loaded.to_json())["version"] == "{}.{}".format(*FORMAT_VERSION)


def test_content_hash_mismatch_is_detected(strategy: Strategy) -> None:
    doc = strategy.to_dict()
    doc["quantization"]["tables"][0][0] += 1
    with pytest.raises(StrategyError, match="does not match") as e:
        Strategy.from_dict(doc)
    assert e.value.field == "content_hash"
    del doc["content_hash"]  # a hand-written file may omit it
    assert Strategy.from_dict(doc).tables[0][0] == strategy.tables[0][0] + 1


def test_optional_sections_may_be_null_or_absent(strategy: Strategy) -> None:
    doc = doc_of(strategy)
    for key in ("model", "perception", "allocation", "probe", "provenance"):
        doc[key] = None
    s = Strategy.from_dict(doc)
    assert s.perception is None and s.allocation is None and s.description == ""
    for key in ("model", "perception", "allocation", "probe", "provenance"):
        del doc[key]
    del doc["quantization"]["subsampling"]
    assert Strategy.from_dict(doc).subsampling == "4:4:4"
