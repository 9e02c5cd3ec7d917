"""gbdt: sequence features from events before each sample only, and a LightGBM fit selected on valid."""

import numpy as np
import pandas as pd
import pytest

from recforge.methods.gbdt import FEATURES, GBDTSettings, features, fit_predict, item_features, user_features


def tables():
    rows = [("u1", "a", 0, 5.0, "train"), ("u1", "b", 1, 3.0, "train"), ("u1", "c", 2, 4.0, "train"),
            ("u1", "d", 3, 1.0, "valid"), ("u1", "e", 4, 5.0, "test"),
            ("u2", "a", 0, 4.0, "train"), ("u2", "c", 1, 2.0, "train"), ("u2", "d", 2, 5.0, "valid"),
            ("u2", "b", 3, 4.0, "test")]
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "position", "rating", "split"])
    samples = interactions.assign(sample_id=interactions["user_id"] + ":" + interactions["position"].astype(str))
    return interactions, samples[["sample_id", "user_id", "item_id", "position", "split", "rating"]]


def test_user_features_hand_computed():
    interactions, samples = tables()
    f = user_features(interactions, samples, top=5.0).set_index(samples["sample_id"])
    assert f.loc["u1:0"].isna().sum() == 5 and f.loc["u1:0", "user_n"] == 0  # nothing before the first event
    test = f.loc["u1:4"]  # history 5, 3, 4, 1 (the valid target is history for the test sample)
    assert test["user_n"] == 4 and test["user_mean"] == pytest.approx(13 / 4) and test["user_last"] == 1.0
    assert test["user_last3"] == pytest.approx(8 / 3) and test["user_top_share"] == pytest.approx(0.25)
    assert test["user_std"] == pytest.approx(np.std([5.0, 3.0, 4.0, 1.0]))


def test_item_features_use_train_events_and_leave_a_train_sample_out():
    interactions, samples = tables()
    f = item_features(interactions, samples).set_index(samples["sample_id"])
    assert f.loc["u1:0", "item_n"] == 1 and f.loc["u1:0", "item_mean"] == 4.0  # a: 5 (own, left out), 4
    assert f.loc["u2:3", "item_n"] == 1 and f.loc["u2:3", "item_mean"] == 3.0  # b at test: train events only
    assert f.loc["u1:3", "item_n"] == 0 and np.isnan(f.loc["u1:3", "item_mean"])  # d has no train event


def test_changing_a_later_event_does_not_change_a_samples_features():
    interactions, samples = tables()
    before = features(interactions, samples).set_index(samples["sample_id"])
    changed = interactions.copy()
    changed.loc[(changed["user_id"] == "u1") & (changed["position"] == 4), "rating"] = 1.0  # u1's test event
    changed.loc[(changed["user_id"] == "u1") & (changed["position"] == 3), "rating"] = 5.0  # and valid event
    after = features(changed, samples.assign(rating=changed["rating"].to_numpy())).set_index(samples["sample_id"])
    earlier = ["u1:0", "u1:1", "u1:2", "u1:3"]  # every u1 sample at or before the changed valid event
    pd.testing.assert_frame_equal(before.loc[earlier], after.loc[earlier])
    assert after.loc["u1:4", "user_last"] == 5.0  # the test sample does see its (changed) history
    assert list(before.columns) == list(FEATURES)


def test_fit_predict_learns_a_signal_and_stops_on_valid():
    rng = np.random.default_rng(0)
    rows = []
    for u in range(300):  # each user rates around their own level: the history predicts the target
        level = rng.choice([1.0, 3.0, 5.0])
        for p in range(6):
            split = "train" if p < 4 else ("valid" if p == 4 else "test")
            rows.append((f"u{u}", f"i{rng.integers(50)}", p, float(np.clip(level + rng.choice([-1, 0, 0, 1]), 1, 5)), split))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "position", "rating", "split"])
    samples = interactions.assign(sample_id=interactions["user_id"] + ":" + interactions["position"].astype(str))
    out, report = fit_predict(interactions, samples, GBDTSettings(n_estimators=200, early_stopping_rounds=20))
    test = out[out["split"] == "test"].merge(samples[["sample_id", "rating"]], on="sample_id")
    mae = (test["prediction"] - test["rating"]).abs().mean()
    constant = (test["rating"] - test["rating"].median()).abs().mean()
    assert mae < 0.8 * constant and report["best_iteration"] >= 1
    assert set(out["split"]) == {"valid", "test"} and out["prediction"].between(1, 5).all()
