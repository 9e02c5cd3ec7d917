"""Metric functions on hand-worked examples (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recforge.eval import metrics as M
from recforge.eval.scenarios import classify_by_percentile, percentile_thresholds

PAD = "[PAD]"


def test_ranking_metrics_from_ranks():
    ranks = np.array([1, 3, 0, 12])
    # HR@10: ranks 1 and 3 hit -> 2/4.  NDCG@10: 1/log2(2) + 1/log2(4) = 1 + 0.5 -> 1.5/4.
    # MRR@10: 1/1 + 1/3 -> (4/3)/4 = 1/3.  At K=1 only rank 1 counts: HR = NDCG = MRR = 1/4.
    out = M.ranking_metrics(ranks, (1, 10))
    assert out["HR@10"] == pytest.approx(0.5)
    assert out["NDCG@10"] == pytest.approx(0.375)
    assert out["MRR@10"] == pytest.approx(1 / 3)
    assert out["HR@1"] == out["NDCG@1"] == out["MRR@1"] == pytest.approx(0.25)
    # Rank 12 is a hit at K=20: NDCG adds 1/log2(13), MRR adds 1/12.
    out20 = M.ranking_metrics(ranks, (20,), hit_name="HIT")
    assert out20["HIT@20"] == pytest.approx(0.75)
    assert out20["NDCG@20"] == pytest.approx((1 + 0.5 + 1 / math.log2(13)) / 4)
    assert out20["MRR@20"] == pytest.approx((1 + 1 / 3 + 1 / 12) / 4)


def test_existing_signatures_kept():
    np.testing.assert_array_equal(M.hit_at_k(np.array([0, 1, 5, 6]), 5), [0.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(M.ndcg_at_k(np.array([0, 1, 3]), 5), [0.0, 1.0, 0.5])


def test_first_hit_rank_dedupes_keeping_first_occurrence():
    # [a, a, b, t] -> [a, b, t]: the repeated "a" does not push t down -> rank 3 (raw index 4).
    assert M.first_hit_rank(["a", "a", "b", "t"], "t") == 3
    # [a, b, a, c, t] -> [a, b, c, t] -> 4.
    assert M.first_hit_rank(["a", "b", "a", "c", "t"], "t") == 4
    # A target listed twice counts once, at its first occurrence.
    assert M.first_hit_rank(["x", "t", "t"], "t") == 2
    assert M.first_hit_rank(["x", "y"], "t") == 0
    assert M.first_hit_rank([], "t") == 0
    # Several relevant ids: the first relevant rank is scored.
    assert M.first_hit_rank(["x", "u", "t"], {"t", "u"}) == 2


def test_target_repeated_scores_once():
    lists = [["t", "t", "t"], ["x", "t"]]
    ranks = M.first_hit_ranks(lists, ["t", "t"])
    # Still one hit per sample, HR@10 = 1 (never 2 or more).
    assert ranks.tolist() == [1, 2]
    assert M.ranking_metrics(ranks, (10,))["HR@10"] == 1.0


def test_pad_keeps_its_slot_and_is_never_relevant():
    items = [PAD, "a", PAD, "t"]
    # With PAD as placeholder, both PADs keep their slots (Persona4Rec eval.py): t is at rank 4.
    assert M.first_hit_rank(items, "t", placeholder=PAD) == 4
    # Without a placeholder (topk), "[PAD]" is an ordinary id and the second one is de-duplicated: rank 3.
    assert M.first_hit_rank(items, "t") == 3
    # A PAD is never relevant, even if the target were literally "[PAD]".
    assert M.first_hit_rank(items, PAD, placeholder=PAD) == 0


def test_vectorised_ranks_match_scalar():
    rng = np.random.default_rng(0)
    vocab = np.array([f"i{j}" for j in range(15)] + [PAD], dtype=object)
    lists = [list(rng.choice(vocab, size=rng.integers(0, 12))) for _ in range(400)]
    targets = list(rng.choice(vocab[:15], size=400))
    for placeholder in (None, PAD):
        fast = M.first_hit_ranks(lists, targets, placeholder=placeholder)
        slow = [M.first_hit_rank(x, t, placeholder=placeholder) for x, t in zip(lists, targets, strict=True)]
        assert fast.tolist() == slow


def test_list_diagnostics_pooled_over_entries():
    lists = [["a", "b", "a", "zz"], ["c", "h1"], []]
    catalogue = {"a", "b", "c", "h1"}
    hist = [["b"], ["h1", "h1"], ["a"]]
    out = M.list_diagnostics(lists, catalogue=catalogue, histories=hist)
    # 6 entries in all. Repeats: the second "a" -> 1/6. Out of catalogue: "zz" -> 1/6.
    # In history: "b" (list 0) and "h1" (list 1) -> 2/6; the "a"s of list 0 are in list 2's history only.
    assert out["repeat_rate"] == pytest.approx(1 / 6)
    assert out["out_of_catalogue_rate"] == pytest.approx(1 / 6)
    assert out["in_history_rate"] == pytest.approx(2 / 6)
    assert out["mean_list_length"] == pytest.approx(2.0)
    bare = M.list_diagnostics(lists)
    assert "out_of_catalogue_rate" not in bare and "in_history_rate" not in bare


def test_rating_metrics_with_invalid_fallback():
    pred = np.array([4.4, np.nan, 6.0, 2.5])
    label = np.array([4.0, 3.0, 5.0, 2.0])
    out = M.rating_metrics(pred, label, fallback=3.6)
    # Scored: 4.4, 3.6 (fallback for NaN), 5.0 (6.0 clipped), 2.5. |err| = .4, .6, 0, .5.
    assert out["MAE"] == pytest.approx(1.5 / 4)
    assert out["RMSE"] == pytest.approx(math.sqrt((0.16 + 0.36 + 0 + 0.25) / 4))
    # Half-up rounding: 4.4->4 ok, 3.6->4 != 3, 5->5 ok, 2.5->3 != 2 -> 2/4.
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["invalid_rate"] == pytest.approx(0.25)
    # No fallback given -> 3.0: scored 4.4, 3.0, 5.0, 2.5 -> MAE (.4+0+0+.5)/4; accuracy 3/4.
    default = M.rating_metrics(pred, label)
    assert default["MAE"] == pytest.approx(0.225)
    assert default["accuracy"] == pytest.approx(0.75)
    assert M.DEFAULT_RATING_FALLBACK == 3.0


def test_label_distribution():
    assert M.label_distribution(np.array([5.0, 4.0, 5.0, 1.0])) == {"1": 1, "4": 1, "5": 2}


def _pairwise_auc(labels, scores):
    pos = [s for y, s in zip(labels, scores, strict=True) if y]
    neg = [s for y, s in zip(labels, scores, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_auc_with_ties_hand_worked():
    labels = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.8, 0.8, 0.3, 0.1, 0.5])
    # 3 x 2 = 6 pairs. pos .8: vs .8 tie 0.5, vs .1 win 1. pos .3: vs .8 0, vs .1 1. pos .5: 0, 1.
    # (0.5 + 1 + 0 + 1 + 0 + 1) / 6 = 3.5 / 6.
    assert M.auc(labels, scores) == pytest.approx(3.5 / 6)


def test_auc_matches_bruteforce_with_many_ties():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, size=300)
    scores = np.round(rng.random(300) * 0.5 + 0.3 * labels, 1)  # coarse rounding -> many ties
    assert M.auc(labels, scores) == pytest.approx(_pairwise_auc(labels, scores))


def test_auc_rejects_hard_predictions():
    with pytest.raises(ValueError, match="hard predictions"):
        M.auc(np.array([1, 0, 1]), np.array([1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.auc(np.array([1, 0]), np.array([1.2, 0.3]))
    with pytest.raises(ValueError, match="NaN"):
        M.log_loss(np.array([1, 0]), np.array([np.nan, 0.3]))


def test_auc_single_class_is_nan():
    with pytest.warns(RuntimeWarning):
        assert math.isnan(M.auc(np.array([1, 1]), np.array([0.2, 0.7])))


def test_log_loss_and_clipping():
    # -(ln 0.8 + ln(1 - 0.4)) / 2
    assert M.log_loss(np.array([1, 0]), np.array([0.8, 0.4])) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    # p = 0 for a positive is clipped to 1e-15: -(ln 1e-15 + ln 0.5) / 2 = (34.5388 + 0.6931) / 2.
    assert M.log_loss(np.array([1, 0]), np.array([0.0, 0.5])) == pytest.approx(-(math.log(1e-15) + math.log(0.5)) / 2)


def test_label_balance():
    assert M.label_balance(np.array([True, False, True, True])) == {"positive": 3, "negative": 1, "positive_rate": 0.75}


def test_percentile_buckets_follow_persona4rec_rule():
    # n = 10, sorted [1,1,2,3,5,5,5,8,9,10]: top = sorted[int(8) - 1] = sorted[7] = 8,
    # bottom = sorted[int(2)] = sorted[2] = 2.
    counts = np.array([5, 1, 9, 2, 5, 10, 1, 8, 3, 5])
    assert percentile_thresholds(counts) == (8.0, 2.0)


def test_percentile_buckets_include_ties():
    import pandas as pd

    # n = 5, sorted [1,1,1,1,2]: top = sorted[int(4) - 1] = 1 -> every entity is head (count >= 1);
    # bottom = sorted[int(1)] = 1 -> the four 1s are tail. Ties make both sets far larger than 20%.
    counts = pd.Series([1, 1, 1, 1, 2], index=["a", "b", "c", "d", "e"])
    head, tail = classify_by_percentile(counts)
    assert head == {"a", "b", "c", "d", "e"}
    assert tail == {"a", "b", "c", "d"}
