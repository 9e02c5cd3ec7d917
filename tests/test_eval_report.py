"""File-level evaluation (evaluate_files) and the dataset-level gather with provenance."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

import recforge
from recforge.eval.aggregate import gather, to_markdown
from recforge.eval.report import evaluate_files


@pytest.fixture()
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    inter = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2", "u2"],
            "item_id": ["a", "b", "c", "b", "c", "d"],
            "rating": [5.0, 4.0, 2.0, 3.0, 5.0, 4.0],
            "timestamp": pd.array([pd.NA] * 6, dtype="Int64"),
            "position": [0, 1, 2, 0, 1, 2],
            "split": ["train", "valid", "test"] * 2,
        }
    )
    inter.to_parquet(d / "interactions.parquet")
    splits = inter[inter["split"] != "train"][["user_id", "item_id", "position", "split", "rating"]].copy()
    splits.insert(0, "sample_id", splits["user_id"] + ":" + splits["position"].astype(str))
    splits.to_parquet(d / "splits.parquet")
    pd.DataFrame({"item_id": list("abcd"), "title": list("ABCD")}).to_parquet(d / "items.parquet")
    return d


def test_evaluate_files_topk_writes_json(tmp_path, data_dir):
    preds = pd.DataFrame({"sample_id": ["u1:2", "u2:2"], "split": "test", "items": [["x", "c"], ["d", "a"]]})
    path = tmp_path / "sasrec.parquet"
    preds.to_parquet(path)
    out = tmp_path / "metrics" / "sasrec.json"
    doc = evaluate_files("sasrec", "Toy", "topk", path, data_dir, out, {"ks": [1, 2]})
    written = json.loads(out.read_text())
    assert written == doc
    assert (written["method"], written["dataset"], written["protocol"]) == ("sasrec", "Toy", "topk")
    (entry,) = written["results"]
    # u1: [x, c] target c -> rank 2; u2: [d, a] target d -> rank 1. HR@1 = 1/2, HR@2 = 1.
    assert entry["split"] == "test" and entry["n"] == 2
    assert entry["metrics"]["HR@1"] == 0.5 and entry["metrics"]["HR@2"] == 1.0
    # x is not an item -> 1/4 of entries; u1's history is a, b and u2's is b, c: nothing in history.
    assert entry["metrics"]["out_of_catalogue_rate"] == 0.25
    assert entry["metrics"]["in_history_rate"] == 0.0
    assert not list(out.parent.glob("*.tmp"))  # the temp file was renamed away


def test_evaluate_files_ctr_single_class_auc_is_null(tmp_path, data_dir):
    preds = pd.DataFrame({"sample_id": ["u1:1", "u2:1"], "split": "valid", "probability": [0.7, 0.2]})
    path = tmp_path / "p.parquet"
    preds.to_parquet(path)
    out = tmp_path / "m.json"
    with pytest.warns(RuntimeWarning):
        evaluate_files("m", "Toy", "ctr", path, data_dir, out, {"like_threshold": 4})
    # valid ratings 4 and 5 are both likes -> one class: AUC undefined, written as null (never bare NaN).
    entry = json.loads(out.read_text())["results"][0]
    assert entry["metrics"]["AUC"] is None
    assert entry["label_balance"] == {"positive": 2, "negative": 0, "positive_rate": 1.0}


def test_evaluate_files_dataset_like_threshold_reaches_ctr_only(tmp_path, data_dir):
    """The rule passes the dataset's like threshold to every evaluation: ctr labels with it (MovieLens'
    >= 3), the other protocols ignore it instead of refusing it as an unknown option."""
    ctr = tmp_path / "ctr.parquet"
    pd.DataFrame({"sample_id": ["u1:2", "u2:2"], "split": "test", "probability": [0.9, 0.2]}).to_parquet(ctr)
    # test ratings: u1 2.0, u2 4.0. At >= 4 only u2 is a like; at >= 2 both are (one class).
    at_4 = evaluate_files("m", "Toy", "ctr", ctr, data_dir, tmp_path / "a.json", {"like_threshold": 4.0})
    assert at_4["results"][0]["label_balance"]["positive"] == 1
    assert at_4["results"][0]["metrics"]["AUC"] == 0.0  # the like got the lower probability
    with pytest.warns(RuntimeWarning):
        at_2 = evaluate_files("m", "Toy", "ctr", ctr, data_dir, tmp_path / "b.json", {"like_threshold": 2.0})
    assert at_2["results"][0]["like_threshold"] == 2.0
    assert at_2["results"][0]["label_balance"]["positive"] == 2
    rating = tmp_path / "r.parquet"
    pd.DataFrame({"sample_id": ["u1:2", "u2:2"], "split": "test", "prediction": [2.0, 4.0]}).to_parquet(rating)
    doc = evaluate_files("m", "Toy", "rating", rating, data_dir, tmp_path / "c.json", {"like_threshold": 3.0})
    assert doc["results"][0]["metrics"]["MAE"] == 0.0
    assert "like_threshold" not in doc["extra"]["options"]


@pytest.mark.parametrize(
    ("protocol", "frame", "message"),
    [
        (
            "topk",
            pd.DataFrame({"sample_id": ["u1:2"], "split": "test", "items": [[1, 2]]}),
            r"'items' is list<.*int64.*list\[str\]",
        ),
        ("rating", pd.DataFrame({"sample_id": ["u1:2"], "split": "test"}), "missing column 'prediction'"),
        (
            "ctr",
            pd.DataFrame({"sample_id": ["u1:2"], "split": "test", "probability": ["0.3"]}),
            "'probability' is (large_)?string",
        ),
    ],
)
def test_evaluate_files_schema_errors_name_the_file(tmp_path, data_dir, protocol, frame, message):
    path = tmp_path / "bad_method.parquet"
    frame.to_parquet(path)
    with pytest.raises(ValueError, match=message) as info:
        evaluate_files("bad", "Toy", protocol, path, data_dir, tmp_path / "m.json", {})
    assert "bad_method.parquet" in str(info.value)
    assert not (tmp_path / "m.json").exists()


def test_evaluate_files_missing_sample_names_method(tmp_path, data_dir):
    path = tmp_path / "p.parquet"
    pd.DataFrame({"sample_id": ["u1:2"], "split": "test", "prediction": [4.0]}).to_parquet(path)
    with pytest.raises(ValueError, match=r"method 'llm'.*p\.parquet.*1 sample\(s\)"):
        evaluate_files("llm", "Toy", "rating", path, data_dir, tmp_path / "m.json", {})


def test_gather_provenance_and_markdown(tmp_path, data_dir):
    p1 = tmp_path / "a.parquet"
    pd.DataFrame({"sample_id": ["u1:2", "u2:2"], "split": "test", "prediction": [2.0, np.nan]}).to_parquet(p1)
    m1 = tmp_path / "metrics" / "llm.json"
    evaluate_files("llm", "Toy", "rating", p1, data_dir, m1, {})
    p2 = tmp_path / "b.parquet"
    pd.DataFrame({"sample_id": ["u1:2", "u2:2"], "split": "test", "items": [["c"], ["d"]]}).to_parquet(p2)
    m2 = tmp_path / "metrics" / "pop.json"
    evaluate_files("pop", "Toy", "rerank", p2, data_dir, m2, {"ks": [1]})
    bench = tmp_path / "bench.tsv"
    bench.write_text("s\th:m:s\tmax_rss\n1.5\t0:00:01\t10\n2.25\t0:00:02\t11\n")
    bench2 = tmp_path / "bench2.tsv"
    bench2.write_text("s\th:m:s\tmax_rss\n4.0\t0:00:04\t10\n")
    config = {"b": [1, 2], "a": {"y": 1, "x": "z"}}
    out = tmp_path / "metrics.json"
    doc = gather([m1, m2], out, dataset="Toy", config=config, benchmark_paths={"llm": [bench, bench2], "pop": []})
    assert json.loads(out.read_text()) == doc
    prov = doc["provenance"]
    canonical = '{"a":{"x":"z","y":1},"b":[1,2]}'
    assert prov["config_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert prov["recforge_version"] == recforge.__version__
    assert {"python", "numpy", "pandas", "torch", "snakemake"} <= set(prov["packages"])
    assert prov["packages"]["numpy"] == np.__version__
    assert set(prov["git"]) == {"commit", "dirty"}
    assert prov["wall_time_s"] == {"llm": 7.75, "pop": 0.0}  # 1.5 + 2.25 + 4.0
    assert prov["created"]
    # Every number is tagged with method, protocol and split.
    rows = {(r["method"], r["protocol"], r["split"], r["metric"]): r["value"] for r in doc["table"]}
    # llm: u1 predicts 2 for label 2; u2 invalid -> train mean (5 + 3) / 2 = 4 for label 4 -> MAE 0.
    assert rows[("llm", "rating", "test", "MAE")] == 0.0
    assert rows[("llm", "rating", "test", "invalid_rate")] == 0.5
    assert rows[("pop", "rerank", "test", "HIT@1")] == 1.0
    assert ("pop", "rerank", "test", "warm/HIT@10") in rows
    md = to_markdown(doc)
    assert "## rating" in md and "## rerank" in md and "## rerank scenarios" in md
    assert "| llm | test | 2 |" in md
    assert "| llm | 7.8 |" in md


def test_gather_rejects_other_dataset(tmp_path):
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"method": "x", "dataset": "Other", "protocol": "topk", "results": []}))
    with pytest.raises(ValueError, match="dataset 'Other'"):
        gather([m], tmp_path / "out.json", dataset="Toy", config={})
