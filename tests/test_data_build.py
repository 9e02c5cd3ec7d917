"""build_dataset: dispatch, option checks, written files, determinism, atomic writes; sequences helpers."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pyarrow.parquet as pq
import pytest

from recforge.data import ConfigError, build_dataset, load_dataset, read_dataset
from recforge.data import build as build_module
from recforge.data.adapters import ADAPTERS
from recforge.data.options import REQUIRED, adapter_options, check_options
from recforge.data.sequences import histories, user_sequences


def test_registry_and_options():
    assert set(ADAPTERS) == {"llm4rec", "sequential_txt", "amazon2023", "amazon2018", "movielens", "minionerec",
                             "reasoningrec", "reclm"}
    for name in ADAPTERS:
        assert adapter_options(name)["on_error"] == "raise"
    with pytest.raises(ConfigError, match="unknown adapter 'nope'"):
        build_dataset("nope", {}, "/tmp/never")


def test_unknown_option_is_a_clear_error(movies_fixture_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"adapter 'llm4rec': unknown option\(s\) \['paht'\]; accepted: "
                                          r"\['on_error', 'path'\]"):
        build_dataset("llm4rec", {"paht": "x"}, tmp_path)
    assert not any(tmp_path.iterdir())



@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_option_checks_name_the_option_and_what_is_accepted(adapter):
    options = adapter_options(adapter)
    required = {k: "some/path" for k, v in options.items() if v is REQUIRED}
    check_options(adapter, {**options, **required})  # every default fits its own annotation
    with pytest.raises(ConfigError, match=rf"adapter '{adapter}': unknown option\(s\) \['on_eror'\]; "
                                          r"accepted: \[.*'on_error'"):
        check_options(adapter, {**required, "on_eror": "quarantine"})
    with pytest.raises(ConfigError, match=r"on_error must be one of \['raise', 'quarantine'\], got 'ignore'"):
        check_options(adapter, {**required, "on_error": "ignore"})


@pytest.mark.parametrize("option, message", [
    ({"split": "leave-one-out"}, r"split must be one of \['leave_one_out', 'temporal'\], got 'leave-one-out'"),
    ({"dedup": "latest"}, r"dedup must be one of \['first', 'last', 'none'\], got 'latest'"),
    ({"format": "tsv"}, r"format must be one of \['auto', 'csv', 'dat'\], got 'tsv'"),
    ({"user_core": "5"}, r"user_core must be int, got '5'"),
    ({"rating_range": [1, "five"]}, r"rating_range must be a list of float, got \[1, 'five'\]"),
    ({"encoding": 8}, r"encoding must be str or null, got 8"),
])
def test_bad_option_values_fail_before_any_file_is_read(option, message):
    # the paths do not exist: the value check comes first, as it does in a dry run
    with pytest.raises(ConfigError, match=r"adapter 'movielens': " + message):
        load_dataset("movielens", {"ratings": "missing.csv", "movies": "missing.csv", **option})

def test_written_files_and_schema(movies_fixture_built):
    names = sorted(p.name for p in movies_fixture_built.iterdir())
    assert names == ["data_report.json", "interactions.parquet", "items.parquet", "splits.parquet"]
    schema = pq.read_schema(movies_fixture_built / "interactions.parquet")
    assert schema.names == ["user_id", "item_id", "rating", "timestamp", "position", "split"]
    assert str(schema.field("timestamp").type) == "int64"
    assert pq.read_schema(movies_fixture_built / "splits.parquet").names == [
        "sample_id", "user_id", "item_id", "position", "split", "rating"]
    assert str(pq.read_schema(movies_fixture_built / "items.parquet").field("categories").type).startswith("list<")
    assert str(pq.read_schema(movies_fixture_built / "items.parquet").field("categories").type.value_type) == "string"
    report = json.loads((movies_fixture_built / "data_report.json").read_text())
    for key in ("counts", "rows", "rating_histogram", "sequence_length", "item_popularity", "split_kind"):
        assert key in report
    assert set(report["sequence_length"]) == {"min", "median", "mean", "max", "p90"}
    assert set(report["item_popularity"]) >= {"min", "median", "max", "gini", "top20pct_item_share"}
    assert 0 < report["item_popularity"]["gini"] < 1
    assert sum(report["rating_histogram"].values()) == report["counts"]["interactions"]
    assert report["options"] == {"path": report["options"]["path"]}


def test_read_dataset_types(movies_fixture_built):
    ds = read_dataset(movies_fixture_built)
    assert str(ds.interactions["timestamp"].dtype) == "Int64"
    assert ds.interactions["position"].dtype == "int64"
    assert isinstance(ds.items["categories"].iloc[0], list)
    assert ds.interactions["timestamp"].isna().sum() == 900


def test_build_is_deterministic(movies_fixture_dir, movies_fixture_built, tmp_path):
    build_dataset("llm4rec", {"path": str(movies_fixture_dir)}, tmp_path, name="MoviesFixture")
    for name in ("items.parquet", "interactions.parquet", "splits.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / name), pd.read_parquet(movies_fixture_built / name))
    assert (tmp_path / "data_report.json").read_bytes() != b""
    a = json.loads((tmp_path / "data_report.json").read_text())
    b = json.loads((movies_fixture_built / "data_report.json").read_text())
    assert a == b


def test_build_is_atomic(movies_fixture_dir, tmp_path, monkeypatch):
    """A failure while writing leaves neither half-written outputs nor temp files, and keeps old outputs."""
    out = tmp_path / "out"
    build_dataset("llm4rec", {"path": str(movies_fixture_dir)}, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = pq.write_table
    calls = {"n": 0}

    def dying_write(table, where, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            with open(where, "wb") as fh:  # half a file, then the "kill"
                fh.write(b"PAR1 partial")
            raise KeyboardInterrupt("killed")
        return real(table, where, **kw)

    monkeypatch.setattr(build_module.pq, "write_table", dying_write)
    with pytest.raises(KeyboardInterrupt):
        build_dataset("llm4rec", {"path": str(movies_fixture_dir)}, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old set intact, no temp files

    fresh = tmp_path / "fresh"
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        build_dataset("llm4rec", {"path": str(movies_fixture_dir)}, fresh)
    assert list(fresh.iterdir()) == []


def test_build_logs_progress(movies_fixture_dir, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="recforge.data"):
        build_dataset("llm4rec", {"path": str(movies_fixture_dir)}, tmp_path, name="F")
    assert any("wrote" in r.getMessage() and r.name == "recforge.data" for r in caplog.records)


def test_histories_hand_made_example():
    inter = pd.DataFrame({
        "user_id": ["u1", "u1", "u1", "u1", "u2", "u2", "u2"],
        "item_id": ["a", "b", "c", "d", "x", "y", "z"],
        "position": [0, 1, 2, 3, 0, 1, 2],
        "split": ["train", "train", "valid", "test", "train", "valid", "test"],
    })
    samples = pd.DataFrame({"sample_id": ["u1:1", "u1:2", "u1:3", "u2:2", "u2:1"],
                            "user_id": ["u1", "u1", "u1", "u2", "u2"], "position": [1, 2, 3, 2, 1]})
    got = histories(inter.sample(frac=1, random_state=3), samples)  # input order must not matter
    assert got.to_dict() == {"u1:1": ["a"], "u1:2": ["a", "b"], "u1:3": ["a", "b", "c"], "u2:2": ["x", "y"],
                             "u2:1": ["x"]}
    assert histories(inter, samples, max_len=2).to_dict()["u1:3"] == ["b", "c"]
    assert histories(inter, pd.DataFrame({"sample_id": ["new:1"], "user_id": ["new"], "position": [1]})).to_dict() == {
        "new:1": []}
    assert user_sequences(inter) == {"u1": ["a", "b", "c", "d"], "u2": ["x", "y", "z"]}
    assert user_sequences(inter, ("train",)) == {"u1": ["a", "b"], "u2": ["x"]}
