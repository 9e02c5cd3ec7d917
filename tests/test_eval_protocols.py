"""Protocol-level scoring: joins and their errors, each protocol on a tiny hand-made dataset, speed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recforge.eval.protocols import evaluate

PAD = "[PAD]"


def _samples(rows):
    """rows: (user, item, position, split, rating) -> a splits.parquet-shaped frame."""
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "position", "split", "rating"])
    df.insert(0, "sample_id", df["user_id"] + ":" + df["position"].astype(str))
    df["rating"] = df["rating"].astype(np.float64)
    return df


def _interactions(rows):
    """rows: (user, item, position, split, rating)."""
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "position", "split", "rating"])
    df["rating"] = df["rating"].astype(np.float64)
    df["timestamp"] = pd.array([pd.NA] * len(df), dtype="Int64")
    return df


# ---------------------------------------------------------------------------------------------------------
# joins
# ---------------------------------------------------------------------------------------------------------

SAMPLES = _samples(
    [
        ("u1", "a", 1, "valid", 4.0),
        ("u1", "b", 2, "test", 5.0),
        ("u2", "c", 1, "valid", 2.0),
        ("u2", "d", 2, "test", 3.0),
    ]
)


def _rating_preds(ids, split="test", values=None):
    values = values if values is not None else [4.0] * len(ids)
    return pd.DataFrame({"sample_id": ids, "split": split, "prediction": values})


def test_missing_samples_are_an_error_naming_the_source_and_count():
    with pytest.raises(ValueError, match=r"method 'm1'.*1 sample\(s\).*u2:2"):
        evaluate("rating", _rating_preds(["u1:2"]), SAMPLES, source="method 'm1'")


def test_unknown_sample_id_is_an_error():
    with pytest.raises(ValueError, match="not in splits.parquet.*zz:9"):
        evaluate("rating", _rating_preds(["u1:2", "u2:2", "zz:9"]), SAMPLES)


def test_duplicate_sample_id_is_an_error():
    with pytest.raises(ValueError, match="duplicate sample_id.*u1:2"):
        evaluate("rating", _rating_preds(["u1:2", "u2:2", "u1:2"]), SAMPLES)


def test_wrong_split_is_an_error():
    with pytest.raises(ValueError, match="split other than"):
        evaluate("rating", _rating_preds(["u1:2", "u2:2"], split="valid"), SAMPLES)


def test_only_predicted_splits_are_scored():
    results = evaluate("rating", _rating_preds(["u1:2", "u2:2"]), SAMPLES)
    assert [r["split"] for r in results] == ["test"]


def test_unknown_protocol_and_option():
    with pytest.raises(ValueError, match="unknown protocol"):
        evaluate("bogus", _rating_preds(["u1:2", "u2:2"]), SAMPLES)
    with pytest.raises(TypeError, match="like_threshold"):
        evaluate("rating", _rating_preds(["u1:2", "u2:2"]), SAMPLES, like_threshold=3)


# ---------------------------------------------------------------------------------------------------------
# rating
# ---------------------------------------------------------------------------------------------------------


def test_rating_protocol_uses_train_mean_fallback_and_reports_it():
    inter = _interactions([("u1", "x", 0, "train", 5.0), ("u2", "y", 0, "train", 4.0), ("u2", "z", 3, "test", np.nan)])
    preds = pd.concat(
        [_rating_preds(["u1:1", "u2:1"], "valid", [4.0, np.nan]), _rating_preds(["u1:2", "u2:2"], "test", [5.0, 3.0])]
    )
    valid, test = evaluate("rating", preds, SAMPLES, inter)
    # Train mean = (5 + 4) / 2 = 4.5. Valid: u1 predicts 4 for label 4 (err 0); u2 invalid -> 4.5 for label 2
    # (err 2.5). MAE 1.25, RMSE sqrt(6.25 / 2), accuracy: 4 == 4 yes, round(4.5) = 5 != 2 -> 0.5.
    assert valid["fallback"] == 4.5
    assert valid["metrics"]["MAE"] == pytest.approx(1.25)
    assert valid["metrics"]["RMSE"] == pytest.approx(math.sqrt(6.25 / 2))
    assert valid["metrics"]["accuracy"] == pytest.approx(0.5)
    assert valid["metrics"]["invalid_rate"] == pytest.approx(0.5)
    assert valid["label_distribution"] == {"2": 1, "4": 1}
    assert test["metrics"]["MAE"] == 0.0 and test["n"] == 2
    # An explicit fallback overrides the train mean.
    assert evaluate("rating", preds, SAMPLES, inter, fallback=2.0)[0]["metrics"]["MAE"] == pytest.approx(0.0)


def test_rating_without_interactions_falls_back_to_three():
    results = evaluate("rating", _rating_preds(["u1:2", "u2:2"], values=[np.nan, np.nan]), SAMPLES)
    # Both invalid -> 3.0: |3 - 5| + |3 - 3| -> MAE 1.0.
    assert results[0]["fallback"] == 3.0
    assert results[0]["metrics"]["MAE"] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------------
# ctr
# ---------------------------------------------------------------------------------------------------------


def test_ctr_protocol_auc_logloss_and_balance():
    samples = _samples(
        [
            ("u1", "a", 1, "test", 5.0),
            ("u2", "b", 1, "test", 4.0),
            ("u3", "c", 1, "test", 3.0),
            ("u4", "d", 1, "test", 1.0),
            ("u5", "e", 1, "test", np.nan),
        ]
    )
    preds = pd.DataFrame({"sample_id": samples["sample_id"], "split": "test", "probability": [0.9, 0.4, 0.4, 0.2, 0.5]})
    (res,) = evaluate("ctr", preds, samples)
    # Labels (rating >= 4): 1, 1, 0, 0; u5 has no rating and is not scored.
    # AUC pairs: .9>.4, .9>.2, .4=.4 (0.5), .4>.2 -> 3.5/4.  Log-loss: -(ln .9 + ln .4 + ln .6 + ln .8)/4.
    assert res["n"] == 4 and res["n_unlabelled"] == 1
    assert res["metrics"]["AUC"] == pytest.approx(0.875)
    assert res["metrics"]["log_loss"] == pytest.approx(
        -(math.log(0.9) + math.log(0.4) + math.log(0.6) + math.log(0.8)) / 4
    )
    assert res["label_balance"] == {"positive": 2, "negative": 2, "positive_rate": 0.5}
    # Threshold 5: labels 1, 0, 0, 0 -> the .9 positive beats every negative: AUC 1.
    (res5,) = evaluate("ctr", preds, samples, like_threshold=5)
    assert res5["metrics"]["AUC"] == pytest.approx(1.0)
    assert res5["label_balance"]["positive"] == 1


def test_ctr_rejects_hard_predictions_naming_source():
    preds = pd.DataFrame({"sample_id": ["u1:2", "u2:2"], "split": "test", "probability": [1.0, 0.0]})
    with pytest.raises(ValueError, match="method 'x'.*hard predictions"):
        evaluate("ctr", preds, SAMPLES, source="method 'x'")


# ---------------------------------------------------------------------------------------------------------
# topk
# ---------------------------------------------------------------------------------------------------------


def test_topk_protocol_ranks_and_diagnostics():
    inter = _interactions(
        [
            ("u1", "h1", 0, "train", 5),
            ("u1", "h2", 1, "train", 5),
            ("u1", "t1", 2, "test", 5),
            ("u2", "h3", 0, "train", 5),
            ("u2", "t2", 1, "test", 5),
        ]
    )
    samples = _samples([("u1", "t1", 2, "test", 5), ("u2", "t2", 1, "test", 5)])
    items = pd.DataFrame({"item_id": ["h1", "h2", "h3", "t1", "t2", "x"]})
    preds = pd.DataFrame(
        {
            "sample_id": ["u1:2", "u2:1"],
            "split": "test",
            "items": [["h1", "h1", "x", "t1"], ["ghost", "t2", "t2", "h1"]],
        }
    )
    (res,) = evaluate("topk", preds, samples, inter, items)
    m = res["metrics"]
    # u1: [h1, h1, x, t1] -> dedupe [h1, x, t1] -> rank 3.  u2: [ghost, t2, ...] -> rank 2.
    # HR@1 = 0; HR@5 = 1; NDCG@5 = (1/log2 4 + 1/log2 3)/2; MRR@5 = (1/3 + 1/2)/2.
    assert m["HR@1"] == 0.0 and m["HR@5"] == 1.0
    assert m["NDCG@5"] == pytest.approx((0.5 + 1 / math.log2(3)) / 2)
    assert m["MRR@5"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    # 8 entries. Repeats: 2nd h1 (u1), 2nd t2 (u2) -> 2/8. Out of catalogue: ghost -> 1/8.
    # In history (u1: h1, h2; u2: h3): both h1 of u1 -> 2/8; u2's h1 is not in u2's history.
    assert m["repeat_rate"] == pytest.approx(2 / 8)
    assert m["out_of_catalogue_rate"] == pytest.approx(1 / 8)
    assert m["in_history_rate"] == pytest.approx(2 / 8)


def test_topk_rejects_null_lists_and_non_str_entries():
    samples = _samples([("u1", "t1", 2, "test", 5)])
    with pytest.raises(ValueError, match="null items list"):
        evaluate("topk", pd.DataFrame({"sample_id": ["u1:2"], "split": "test", "items": [None]}), samples)
    with pytest.raises(ValueError, match="only str"):
        evaluate("topk", pd.DataFrame({"sample_id": ["u1:2"], "split": "test", "items": [["a", 3]]}), samples)


def test_topk_at_beauty_scale_matches_a_direct_count():
    """22k users x 20-item lists (Beauty's size): HR@20 equals the share of lists holding their target.
    (No timing here: the evaluate rule's benchmark file records the evaluator's seconds.)"""
    rng = np.random.default_rng(0)
    n_users, n_items, hist_len = 22_000, 10_000, 8
    item_ids = np.array([f"i{j}" for j in range(n_items)], dtype=object)
    users = np.repeat([f"u{u}" for u in range(n_users)], hist_len + 1)
    positions = np.tile(np.arange(hist_len + 1), n_users)
    inter = pd.DataFrame(
        {
            "user_id": users,
            "item_id": rng.choice(item_ids, size=users.size),
            "position": positions,
            "split": np.where(positions == hist_len, "test", "train"),
            "rating": np.nan,
        }
    )
    samples = inter[inter["split"] == "test"].copy()
    samples.insert(0, "sample_id", samples["user_id"] + ":" + samples["position"].astype(str))
    lists = [list(x) for x in rng.choice(item_ids, size=(n_users, 20))]
    preds = pd.DataFrame({"sample_id": samples["sample_id"].to_numpy(), "split": "test", "items": lists})
    items = pd.DataFrame({"item_id": item_ids})
    (res,) = evaluate("topk", preds, samples, inter, items)
    assert res["n"] == n_users
    direct = np.mean([target in top for target, top in zip(samples["item_id"], lists)])
    assert direct > 0 and res["metrics"]["HR@20"] == pytest.approx(direct)


# ---------------------------------------------------------------------------------------------------------
# rerank
# ---------------------------------------------------------------------------------------------------------


def test_rerank_pad_keeps_slot():
    samples = _samples([("u1", "t", 1, "test", np.nan)])
    preds = pd.DataFrame({"sample_id": ["u1:1"], "split": "test", "items": [["a", PAD, "b", "t"]]})
    (res,) = evaluate("rerank", preds, samples, ks=(3, 5))
    # PAD occupies rank 2, so t is at rank 4: a miss at K=3, NDCG@5 = 1/log2(5), MRR@5 = 1/4.
    assert res["metrics"]["HIT@3"] == 0.0
    assert res["metrics"]["HIT@5"] == 1.0
    assert res["metrics"]["NDCG@5"] == pytest.approx(1 / math.log2(5))
    assert res["metrics"]["MRR@5"] == pytest.approx(0.25)
    assert res["metrics"]["pad_rate"] == pytest.approx(0.25)
    assert "scenarios" not in res  # no interactions given


def test_rerank_scenarios_with_ties():
    # Train events per user: u1 1, u2 2, u3 3, u4 4, u5 4 -> sorted [1,2,3,4,4], n = 5:
    #   warm threshold sorted[int(4) - 1] = 4 -> warm {u4, u5} (a tie); cold threshold sorted[int(1)] = 2 -> {u1, u2}.
    # Item train counts: A 5, B 4, Z 3, Y 2, X 0, W 0. Distinct targets X, Y, Z, W -> counts [0, 0, 2, 3], n = 4:
    #   head threshold sorted[int(3.2) - 1] = sorted[2] = 2 -> {Y, Z}; tail threshold sorted[int(0.8)] = 0 -> {X, W}.
    # The test events (the targets themselves) must not be counted: otherwise X would count 2.
    train = {
        "u1": ["A"],
        "u2": ["A", "B"],
        "u3": ["A", "B", "Z"],
        "u4": ["A", "B", "Z", "Y"],
        "u5": ["A", "B", "Z", "Y"],
    }
    targets = {"u1": "X", "u2": "Y", "u3": "X", "u4": "Z", "u5": "W"}
    rows = []
    for user, seq in train.items():
        rows += [(user, item, pos, "train", 5.0) for pos, item in enumerate(seq)]
        rows.append((user, targets[user], len(seq), "test", 5.0))
    inter = _interactions(rows)
    samples = _samples([(u, targets[u], len(train[u]), "test", 5.0) for u in train])
    fillers = [f"f{j}" for j in range(10)]
    lists = {
        "u1": ["X", "f0"],  # rank 1
        "u2": ["A", "B"],  # miss
        "u3": ["A", "X"],  # rank 2
        "u4": fillers + ["Z"],  # rank 11: a miss at K = 10
        "u5": ["A", "B", "W"],  # rank 3
    }
    preds = pd.DataFrame({"sample_id": samples["sample_id"], "split": "test", "items": [lists[u] for u in train]})
    (res,) = evaluate("rerank", preds, samples, inter)
    sc = res["scenarios"]
    assert sc["k"] == 10 and sc["count_phases"] == ["train"]
    assert sc["thresholds"] == {
        "warm_user_min_count": 4.0,
        "cold_user_max_count": 2.0,
        "head_item_min_count": 2.0,
        "tail_item_max_count": 0.0,
    }
    b = sc["buckets"]
    assert {k: v["n"] for k, v in b.items()} == {"warm": 2, "cold": 2, "head": 2, "tail": 3}
    # warm {u4 miss, u5 rank 3}: HIT 1/2, NDCG (0 + 1/log2 4)/2 = 0.25.
    assert b["warm"]["HIT@10"] == pytest.approx(0.5) and b["warm"]["NDCG@10"] == pytest.approx(0.25)
    # cold {u1 rank 1, u2 miss}: HIT 1/2, NDCG 1/2.
    assert b["cold"]["HIT@10"] == pytest.approx(0.5) and b["cold"]["NDCG@10"] == pytest.approx(0.5)
    # head {u2 miss, u4 miss}: 0.
    assert b["head"]["HIT@10"] == 0.0 and b["head"]["NDCG@10"] == 0.0
    # tail {u1 rank 1, u3 rank 2, u5 rank 3}: HIT 1, NDCG (1 + 1/log2 3 + 1/2)/3.
    assert b["tail"]["HIT@10"] == 1.0
    assert b["tail"]["NDCG@10"] == pytest.approx((1 + 1 / math.log2(3) + 0.5) / 3)


def test_in_history_flags_match_sequences_histories():
    from recforge.data.sequences import histories
    from recforge.eval.metrics import list_diagnostics
    from recforge.eval.protocols import in_history_flags

    rng = np.random.default_rng(3)
    vocab = [f"i{j}" for j in range(12)]
    rows = []
    for u in range(40):
        for pos in range(rng.integers(2, 9)):
            rows.append((f"u{u}", str(rng.choice(vocab)), pos, "train", 5.0))
    inter = _interactions(rows)
    samples = inter.groupby("user_id").tail(1)[["user_id", "item_id", "position", "split", "rating"]].copy()
    samples.insert(0, "sample_id", samples["user_id"] + ":" + samples["position"].astype(str))
    samples = samples.reset_index(drop=True)
    lists = [list(rng.choice(vocab, size=6)) for _ in range(len(samples))]
    via_histories = list_diagnostics(lists, histories=histories(inter, samples).tolist())["in_history_rate"]
    via_merge = list_diagnostics(lists, in_history=in_history_flags(lists, samples, inter))["in_history_rate"]
    assert via_merge == pytest.approx(via_histories)
    assert 0 < via_merge < 1


def test_ctr_auc_bootstrap_interval():
    from recforge.eval.metrics import auc_bootstrap_ci

    # Perfect separation: every resample with both classes has AUC 1, so the interval is [1, 1].
    assert auc_bootstrap_ci(np.array([1, 1, 0, 0]), np.array([0.9, 0.8, 0.2, 0.1])) == [1.0, 1.0]
    # Single class: no interval.
    assert auc_bootstrap_ci(np.array([1, 1]), np.array([0.9, 0.8])) is None
    # Perfectly wrong ranking: [0, 0]; a mixed ranking (AUC 0.875 above) lies inside its interval.
    assert auc_bootstrap_ci(np.array([0, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.1])) == [0.0, 0.0]
    low, high = auc_bootstrap_ci(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.4, 0.2]), seed=3)
    assert 0 <= low <= 0.875 <= high <= 1
