import math

import numpy as np
import pandas as pd
import pytest

from recforge.methods import rating_means
from recforge.methods._common import loo_frames


@pytest.fixture
def frames():
    # u1: train 4, 2 | valid 5 | test 1      u2: train 3 | valid 1 | test 4      u3: train (only x) | valid | test
    seqs = {"u1": ["a", "b", "c", "d"], "u2": ["a", "c", "e"], "u3": ["b", "x", "a"]}
    ratings = {"u1": [4, 2, 5, 1], "u2": [3, 1, 4], "u3": [np.nan, 2, 5]}
    return loo_frames(seqs, ratings)


def _pred(kind, frames):
    inter, samples = frames
    out = rating_means.predict(kind, inter, samples)
    return dict(zip(out["sample_id"], out["prediction"]))


def test_columns_and_order(frames):
    inter, samples = frames
    out = rating_means.predict("global_mean", inter, samples)
    assert list(out.columns) == ["sample_id", "split", "prediction"]
    assert out["prediction"].dtype == np.float64
    want = samples[samples["split"].isin(["valid", "test"])]
    assert sorted(out["sample_id"]) == sorted(want["sample_id"])
    assert set(out["split"]) == {"valid", "test"}


def test_global_mean(frames):
    p = _pred("global_mean", frames)
    # valid: rated train events 4, 2, 3 (u3's train event has no rating) -> 3
    assert p["u1:2"] == pytest.approx(3.0) and p["u2:1"] == pytest.approx(3.0)
    # test also sees valid events: 4, 2, 3 + 5, 1, 2 -> 17/6
    assert p["u1:3"] == pytest.approx(17 / 6) and p["u3:2"] == pytest.approx(17 / 6)


def test_user_mean_with_fallback(frames):
    p = _pred("user_mean", frames)
    assert p["u1:2"] == pytest.approx(3.0)  # (4+2)/2
    assert p["u2:1"] == pytest.approx(3.0)
    assert p["u3:1"] == pytest.approx(3.0)  # u3 has no rated train event -> global mean 3
    assert p["u1:3"] == pytest.approx(11 / 3)  # 4, 2, 5
    assert p["u2:2"] == pytest.approx(2.0)  # 3, 1
    assert p["u3:2"] == pytest.approx(2.0)  # its valid rating 2


def test_item_mean_with_fallback(frames):
    p = _pred("item_mean", frames)
    assert p["u1:2"] == pytest.approx(3.0)  # item c unseen in train -> global mean 3
    assert p["u2:1"] == pytest.approx(3.0)  # item c
    assert p["u3:1"] == pytest.approx(3.0)  # item x unseen
    assert p["u1:3"] == pytest.approx(17 / 6)  # d never seen -> global mean of train+valid
    assert p["u2:2"] == pytest.approx(17 / 6)  # e never seen
    assert p["u3:2"] == pytest.approx(3.5)  # a: 4 (u1 train), 3 (u2 train)


def test_no_test_rating_is_used(frames):
    inter, samples = frames
    base = rating_means.predict("item_mean", inter, samples)
    changed = inter.copy()
    changed.loc[changed["split"] == "test", "rating"] = 99.0
    again = rating_means.predict("item_mean", changed, samples)
    pd.testing.assert_frame_equal(base, again)


def test_unknown_kind(frames):
    with pytest.raises(ValueError):
        rating_means.predict("median", *frames)


def test_nothing_rated_gives_nan():
    inter, samples = loo_frames({"u": ["a", "b", "c"]})
    out = rating_means.predict("user_mean", inter, samples)
    assert out["prediction"].map(math.isnan).all()
