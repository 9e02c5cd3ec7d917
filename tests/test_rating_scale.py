"""The rating scale from the data (recforge.data.scale) and the evaluator on a half-star dataset: the
clip and the accuracy follow the data's scale, not a fixed 1-5 in whole stars."""

import numpy as np
import pandas as pd
import pytest

from recforge.data.scale import RatingScale, infer_step, rating_scale
from recforge.eval.metrics import rating_metrics
from recforge.eval.protocols import evaluate
from recforge.eval.report import evaluate_files

HALF = RatingScale(0.5, 5.0, 0.5)


def test_the_scale_is_inferred_from_the_observed_ratings():
    assert rating_scale([1.0, 5.0, 3.0, np.nan, 4.0]) == RatingScale(1.0, 5.0, 1.0)
    assert rating_scale([0.5, 1.0, 3.5, 5.0]) == HALF and infer_step([0.5, 2.0, 3.5, 5.0]) == 1.5
    assert infer_step([1.0, 1.25, 2.0]) == 0.25 and infer_step([4.0]) == 1.0
    # the dataset config's override wins over the data (a 1-10 scale whose data shows only 2..9)
    assert rating_scale([2.0, 9.0], {"min": 1, "max": 10, "step": 1}) == RatingScale(1.0, 10.0, 1.0)
    with pytest.raises(ValueError, match="min, max and step"):
        rating_scale([1.0], {"min": 1, "max": 5})
    with pytest.raises(ValueError, match="whole number of steps"):
        RatingScale(1.0, 5.0, 1.5)


def test_nearest_valid_rating_and_prompt_text():
    assert HALF.values() == [0.5 * k for k in range(1, 11)]
    assert HALF.nearest([0.1, 3.74, 3.75, 4.2, 9.0]).tolist() == [0.5, 3.5, 4.0, 4.0, 5.0]
    assert RatingScale().nearest([2.5, 2.49]).tolist() == [3.0, 2.0]  # half-up, as before on 1-5
    assert [HALF.text(HALF.min), RatingScale().text(1.0), RatingScale(0.25, 1, 0.25).text(0.25)] == [
        "0.5", "1.0", "0.25"]


def test_rating_metrics_clip_and_round_on_a_half_star_scale():
    labels = np.array([0.5, 3.5, 4.5, 2.0])
    pred = np.array([0.5, 3.6, 4.4, 2.2])
    m = rating_metrics(pred, labels, scale=HALF)
    # 0.5 is kept (a 1-5 clip made it 1.0, err 0.5); 3.6 -> 3.5 and 4.4 -> 4.5 are correct half stars
    assert m["MAE"] == pytest.approx((0 + 0.1 + 0.1 + 0.2) / 4)
    assert m["accuracy"] == 1.0
    whole = rating_metrics(pred, labels)
    assert whole["MAE"] == pytest.approx((0.5 + 0.1 + 0.1 + 0.2) / 4) and whole["accuracy"] == 0.25


def _half_star_data():
    samples = pd.DataFrame(
        {
            "sample_id": ["u1:1", "u2:1", "u3:1"],
            "user_id": ["u1", "u2", "u3"],
            "item_id": ["a", "b", "c"],
            "position": [1, 1, 1],
            "split": ["test"] * 3,
            "rating": [0.5, 3.5, 5.0],
        }
    )
    interactions = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2", "u3", "u3"],
            "item_id": ["b", "a", "c", "b", "a", "c"],
            "position": [0, 1, 0, 1, 0, 1],
            "split": ["train", "test"] * 3,
            "rating": [4.5, 0.5, 2.0, 3.5, 1.0, 5.0],
        }
    )
    return samples, interactions


def test_the_rating_protocol_scores_on_the_datasets_scale(tmp_path):
    samples, interactions = _half_star_data()
    preds = pd.DataFrame({"sample_id": samples["sample_id"], "split": "test", "prediction": [0.4, 3.7, 5.2]})
    (result,) = evaluate("rating", preds, samples, interactions)
    assert result["rating_scale"] == {"min": 0.5, "max": 5.0, "step": 0.5}
    # clipped to 0.5 (not 1.0) and to 5.0; 3.7 rounds to the 3.5 label
    assert result["metrics"]["MAE"] == pytest.approx(0.2 / 3)
    assert result["metrics"]["accuracy"] == 1.0
    # the dataset config's override reaches the evaluator through evaluate_files
    for name, frame in (("splits", samples), ("interactions", interactions), ("predictions", preds)):
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    doc = evaluate_files(
        "m", "ML", "rating", tmp_path / "predictions.parquet", tmp_path, tmp_path / "m.json",
        {"ks": [1], "rating_scale": {"min": 1, "max": 5, "step": 1}},
    )
    assert doc["results"][0]["rating_scale"] == {"min": 1.0, "max": 5.0, "step": 1.0}
    assert doc["results"][0]["metrics"]["MAE"] == pytest.approx((0.5 + 0.2 + 0) / 3)
