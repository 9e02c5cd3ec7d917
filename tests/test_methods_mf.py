import numpy as np
import pandas as pd

from recforge.methods import mf, rating_means
from recforge.methods._common import loo_frames


def _low_rank(seed=0, n_users=120, n_items=60, per_user=30):
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(n_users, 2)), rng.normal(size=(n_items, 2))
    seqs, ratings = {}, {}
    for u in range(n_users):
        items = rng.choice(n_items, size=per_user, replace=False)
        r = np.clip(np.round(3 + (p[u] @ q[items].T) * 0.9), 1, 5)
        seqs[f"u{u}"] = [f"i{i}" for i in items]
        ratings[f"u{u}"] = r.tolist()
    return loo_frames(seqs, ratings)


def _rmse(pred, samples, split):
    m = pred.merge(samples[["sample_id", "rating"]], on="sample_id")
    m = m[m["split"] == split]
    return float(np.sqrt(((m["prediction"] - m["rating"]) ** 2).mean()))


def test_mf_beats_global_mean_on_low_rank_data():
    inter, samples = _low_rank()
    config = mf.MFConfig(dim=4, lr=0.02, reg=0.01, epochs=60, patience=5, batch_size=256, seed=0)
    model = mf.train(inter, samples, config)
    pred = mf.predict(model, samples)
    base = rating_means.predict("global_mean", inter, samples)
    for split in ("valid", "test"):
        assert _rmse(pred, samples, split) < 0.8 * _rmse(base, samples, split)
    assert model.best_epoch == min(model.history, key=lambda e: e["valid_rmse"])["epoch"]
    assert pred["prediction"].between(1, 5).all()


def test_mf_is_deterministic_and_handles_unknowns():
    inter, samples = _low_rank(n_users=30, per_user=10)
    config = mf.MFConfig(dim=4, epochs=5, seed=3)
    a = mf.train_and_predict(inter, samples, config)
    b = mf.train_and_predict(inter, samples, config)
    pd.testing.assert_frame_equal(a, b)
    model = mf.train(inter, samples, config)
    out = model.predict_pairs(["nobody", "nobody"], ["i0", "nothing"])
    assert np.isfinite(out).all()
    # unknown user and unknown item -> mu
    assert out[1] == np.clip(model.net.mu.item(), *model.rating_range)
