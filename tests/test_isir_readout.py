"""The rating readout: one rating per row from the model's distribution over the rating tokens,
against hand-computed values, and the valid-chosen readout."""

import numpy as np
import pandas as pd
import pytest

from recforge.methods.isir.predict import READOUTS, best_constant_errors, choose_readout, read_ratings, readout_report, rating_values

VALUES = [1.0, 2.0, 3.0, 4.0, 5.0]
DIST = np.array([
    [0.1, 0.0, 0.2, 0.3, 0.4],  # mean 3.9; cumulative .1 .1 .3 .6 -> median 4; argmax 5
    [0.0, 0.0, 0.0, 0.5, 0.5],  # mean 4.5; cumulative reaches .5 at 4 -> median 4; argmax 4 (first)
    [0.6, 0.1, 0.1, 0.1, 0.1],  # mean 2.0; median 1; argmax 1
])


def test_readouts_by_hand():
    assert read_ratings(DIST, VALUES, "argmax").tolist() == [5.0, 4.0, 1.0]
    assert read_ratings(DIST, VALUES, "expected") == pytest.approx([3.9, 4.5, 2.0])
    assert read_ratings(DIST, VALUES, "median").tolist() == [4.0, 4.0, 1.0]
    assert read_ratings(DIST, VALUES, "blend:0.5") == pytest.approx([3.95, 4.25, 1.5])
    assert read_ratings(DIST, VALUES, "blend:1") == pytest.approx(read_ratings(DIST, VALUES, "median"))
    with pytest.raises(ValueError, match="unknown readout"):
        read_ratings(DIST, VALUES, "mode")
    with pytest.raises(ValueError, match="weight"):
        read_ratings(DIST, VALUES, "blend:1.5")


def test_half_star_values_are_read_in_their_own_order():
    values = [4.5, 0.5, 2.5]  # unsorted on purpose
    dist = np.array([[0.4, 0.35, 0.25]])  # sorted: 0.5 (.35), 2.5 (.25), 4.5 (.4) -> cumulative .35 .6
    assert read_ratings(dist, values, "median").tolist() == [2.5]
    assert read_ratings(dist, values, "expected") == pytest.approx([0.4 * 4.5 + 0.35 * 0.5 + 0.25 * 2.5])


def test_the_valid_rows_choose_the_readout():
    labels = np.array([4.0, 4.0, 1.0])  # median readout is exact here
    best, scores = choose_readout(DIST, labels, VALUES)
    assert best == "median" and scores["median"]["mae"] == 0.0
    assert scores["argmax"]["mae"] == pytest.approx(1 / 3)
    rows = pd.DataFrame({"split": ["valid", "valid", "valid", "test"], "label": [4.0, 4.0, 1.0, 5.0]})
    report = readout_report(rows, np.vstack([DIST, DIST[:1]]), VALUES, "auto")
    assert report["readout"] == "median" and set(report["valid_scores"]) == set(READOUTS)
    assert readout_report(rows, np.vstack([DIST, DIST[:1]]), VALUES, "expected")["readout"] == "expected"
    with pytest.raises(ValueError, match="valid rows"):
        readout_report(rows[rows["split"] == "test"], DIST[:1], VALUES, "auto")


def _rows(scale: dict) -> pd.DataFrame:
    return pd.DataFrame({"reward_model": [{"ground_truth": "4", "rating_scale": scale}] * 2})


def test_rating_values_are_every_valid_rating_of_the_rows_scale():
    assert rating_values(_rows({"min": 1.0, "max": 5.0, "step": 1.0})) == VALUES
    # half stars: 4.5 can be read out although no label needs to show it
    assert rating_values(_rows({"min": 0.5, "max": 5.0, "step": 0.5})) == [0.5 * k for k in range(1, 11)]
    mixed = pd.concat([_rows({"min": 1.0, "max": 5.0, "step": 1.0}), _rows({"min": 0.5, "max": 5.0, "step": 0.5})])
    with pytest.raises(ValueError, match="2 rating scales"):
        rating_values(mixed)


def test_multi_token_ratings_are_scored_up_to_the_closing_tag():
    """"4" and "4.5" share a first token: each value's tokens and "</answer>" are scored in turn."""
    import torch

    from recforge.methods.isir.predict import _value_scores

    # tokens: 0 pad, 1 "<answer>", 2 "4", 3 ".", 4 "5", 5 "</answer>"; a bigram model
    table = torch.full((6, 6), -1e9)
    table[1, 2] = 0.0  # after <answer>: "4" surely
    table[2, 3], table[2, 5] = np.log(0.3), np.log(0.7)  # after "4": "." 0.3, "</answer>" 0.7
    table[3, 4] = 0.0
    table[4, 5] = 0.0

    class Bigram:
        def __call__(self, input_ids, attention_mask):
            return type("Out", (), {"logits": table[input_ids]})()

    batch = {"input_ids": torch.tensor([[0, 1], [1, 1]]), "attention_mask": torch.tensor([[0, 1], [1, 1]])}
    probs = torch.softmax(_value_scores(Bigram(), batch, [[2], [2, 3, 4]], [5]), dim=-1).numpy()
    assert probs == pytest.approx(np.array([[0.7, 0.3], [0.7, 0.3]]), abs=1e-6)
    # one token per value: the next-token logits restricted to them (the paper's one-position readout)
    single = _value_scores(Bigram(), batch, [[2], [3]], [5])
    assert single.shape == (2, 2) and torch.equal(single, table[1][[2, 3]].expand(2, -1))


def test_the_best_constants_by_hand():
    labels = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 1.0])
    # median 5: errors 0 x5, 4 -> MAE 4/6; mean 26/6: squared deviations 5 x (2/3)^2 + (10/3)^2 = 40/3
    assert best_constant_errors(labels) == pytest.approx({"mae": 4 / 6, "rmse": np.sqrt(40 / 3 / 6)})


def test_one_readout_must_serve_both_errors():
    """Five sure-ish fives and one split row labelled 1: the lowest MAE + RMSE is the mean's (0.70 /
    0.97), whose MAE loses to the constant 5 (0.667); the worse-of-two skill picks the blend that loses
    least on either error."""
    dist = np.array([[0.0, 0.0, 0.0, 0.4, 0.6]] * 5 + [[0.45, 0.0, 0.0, 0.0, 0.55]])
    labels = np.array([5.0] * 5 + [1.0])
    best, scores = choose_readout(dist, labels, VALUES)
    by_sum = min(READOUTS, key=lambda k: scores[k]["mae"] + scores[k]["rmse"])
    assert by_sum == "expected" and scores["expected"]["mae"] == pytest.approx(0.7)  # > 4/6
    assert best == "blend:0.75"  # .75 median + .25 mean: 4.9 x5 and 4.55, MAE 0.675, RMSE 1.4522
    assert scores[best]["mae"] == pytest.approx(0.675) and scores[best]["skill"] == pytest.approx(1 - 0.675 / (4 / 6))


def test_the_benchmarks_huber_readout_lies_between_the_median_and_the_mean():
    """benchmarks/isir_readouts.py's Huber point, by hand: P(1) 0.2, P(5) 0.8 has mean 4.2 and median 5;
    with delta 1 the slope 0.2 * 1 + 0.8 * (c - 5) is zero at c = 4.75."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "isir_readouts.py"
    spec = importlib.util.spec_from_file_location("isir_readouts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dist = np.array([[0.2, 0.0, 0.0, 0.0, 0.8]])
    values = np.array(VALUES)
    assert module.huber_point(dist, values, 1.0) == pytest.approx([4.75])
    assert module.huber_point(dist, values, 10.0) == pytest.approx([4.2])  # every |c - v| <= 4: the mean
    assert module.huber_point(dist, values, 1e-6) == pytest.approx([5.0], abs=1e-5)  # the median
