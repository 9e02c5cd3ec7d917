import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from recforge.data.sequences import histories
from recforge.eval.metrics import hit_at_k
from recforge.methods import sasrec
from recforge.methods._common import loo_frames

N_ITEMS = 40


def _successor_frames(n_users=200, length=8, seed=0):
    """Every user walks i, i+1, i+2, ... (mod N_ITEMS) from a random start: the next item is determined."""
    rng = np.random.default_rng(seed)
    seqs = {}
    for u in range(n_users):
        start = int(rng.integers(N_ITEMS))
        seqs[f"u{u:03d}"] = [f"i{(start + t) % N_ITEMS}" for t in range(length)]
    return loo_frames(seqs)


def _config(**kw):
    base = dict(hidden_size=32, num_layers=1, num_heads=2, dropout=0.1, max_len=10, batch_size=32,
                lr=5e-3, max_epochs=8, patience=3, eval_every=1, seed=0, threads=1,
                refit_for_test=False)
    base.update(kw)
    return sasrec.SASRecConfig(**base)


@pytest.fixture(scope="module")
def trained():
    inter, samples = _successor_frames()
    model = sasrec.train(inter, samples, _config())
    return inter, samples, model


def _hr1(model, inter, samples, split):
    s = samples[samples["split"] == split]
    ranks = sasrec.target_ranks(model, histories(inter, s).tolist(), s["item_id"].tolist())
    return hit_at_k(ranks, 1).mean()


def test_learns_successor_pattern(trained):
    inter, samples, model = trained
    assert _hr1(model, inter, samples, "valid") > 0.95
    assert _hr1(model, inter, samples, "test") > 0.95
    assert sasrec.recommend(model, [["i5", "i6", "i7"]], k=1) == [["i8"]]
    # exclusion: the successor is withheld when it is already in the history
    assert sasrec.recommend(model, [["i8", "i6", "i7"]], k=1)[0] != ["i8"]
    assert sasrec.recommend(model, [["i8", "i6", "i7"]], k=1, exclude_history=False) == [["i8"]]


def test_predict_frame(trained):
    inter, samples, model = trained
    out = sasrec.predict(model, inter, samples, k=5)
    assert list(out.columns) == ["sample_id", "split", "items", "scores"]
    want = samples[samples["split"].isin(["valid", "test"])]
    assert out["sample_id"].tolist() == want["sample_id"].tolist()
    assert all(len(items) == 5 for items in out["items"])
    assert all(s == sorted(s, reverse=True) for s in out["scores"])
    # a test sample's history includes the valid target, so that item is never recommended to it
    merged = out[out["split"] == "test"].merge(want[want["split"] == "valid"][["user_id", "item_id"]],
                                              left_on=out[out["split"] == "test"]["sample_id"].str.split(":").str[0],
                                              right_on="user_id")
    assert not any(v in items for v, items in zip(merged["item_id"], merged["items"]))
    hit = [t in items[:1] for t, items in zip(want.set_index("sample_id").loc[out["sample_id"], "item_id"], out["items"])]
    assert np.mean(hit) > 0.95


def test_save_load_round_trip(trained, tmp_path):
    inter, samples, model = trained
    sasrec.save(model, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.safetensors"]
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["items"] == model.items and meta["config"]["max_len"] == 10
    again = sasrec.load(tmp_path / "m")
    hist = histories(inter, samples[samples["split"] == "test"]).tolist()
    assert sasrec.recommend(again, hist, 10) == sasrec.recommend(model, hist, 10)
    a = sasrec.recommend_with_scores(again, hist[:5], 10)[1]
    b = sasrec.recommend_with_scores(model, hist[:5], 10)[1]
    assert a == b
    assert again.best_epoch == model.best_epoch


def test_best_state_is_restored():
    inter, samples = _successor_frames(n_users=40)
    scores = [0.1, 0.3, 0.2, 0.25, 0.29, 0.5]
    snapshots = {}

    def scorer(model, epoch):
        snapshots[epoch] = {k: v.clone() for k, v in model.net.state_dict().items()}
        return scores[epoch - 1]

    model = sasrec.train(inter, samples, _config(max_epochs=10, patience=3), valid_scorer=scorer)
    assert sorted(snapshots) == [1, 2, 3, 4, 5]  # stopped after 3 evaluations without improvement
    assert model.best_epoch == 2 and model.best_score == pytest.approx(0.3) and model.stop_reason == "patience"
    state = model.net.state_dict()
    assert all(torch.equal(state[k], snapshots[2][k]) for k in state)
    assert not all(torch.equal(state[k], snapshots[5][k]) for k in state)


def test_eval_every_and_time_budget():
    inter, samples = _successor_frames(n_users=40)
    seen = []
    model = sasrec.train(inter, samples, _config(max_epochs=5, eval_every=2, patience=10),
                         valid_scorer=lambda m, e: seen.append(e) or float(e))
    assert seen == [2, 4, 5] and model.best_epoch == 5  # the last epoch is always evaluated
    seen.clear()
    model = sasrec.train(inter, samples, _config(max_epochs=50, time_budget_s=0.0),
                         valid_scorer=lambda m, e: seen.append(e) or 1.0)
    assert seen == [1] and len(model.log) == 1 and model.stop_reason == "time_budget"


class _FakeClock:
    """time.perf_counter stand-in: every call moves 1,000 s on (a very slow, very busy machine)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1000.0
        return self.now


def test_stop_is_by_epoch_count_not_the_clock(monkeypatch, caplog):
    inter, samples = _successor_frames(n_users=40)
    monkeypatch.setattr(sasrec.time, "perf_counter", _FakeClock())
    cfg = _config(max_epochs=4, patience=10, eval_every=2, time_budget_s=None)
    with caplog.at_level("WARNING", logger=sasrec.__name__):
        model = sasrec.train(inter, samples, cfg, valid_scorer=lambda m, e: float(e))
    # no budget: however slow the clock, every epoch runs and nothing is logged about time
    assert [e["epoch"] for e in model.log] == [1, 2, 3, 4] and model.stop_reason == "max_epochs"
    assert not caplog.records
    # a set budget still stops training, loudly
    with caplog.at_level("WARNING", logger=sasrec.__name__):
        cut = sasrec.train(inter, samples, replace(cfg, time_budget_s=1500.0), valid_scorer=lambda m, e: float(e))
    assert [e["epoch"] for e in cut.log] == [1] and cut.stop_reason == "time_budget" and cut.best_epoch == 1
    assert any(r.levelname == "WARNING" and "TIME BUDGET" in r.getMessage() for r in caplog.records)


def test_same_config_gives_the_same_model(tmp_path):
    inter, samples = _successor_frames(n_users=60)
    cfg = _config(max_epochs=3, patience=5, eval_every=2, refit_for_test=True)
    a = sasrec.train(inter, samples, cfg)
    b = sasrec.train(inter, samples, cfg)
    assert a.stop_reason == b.stop_reason == "max_epochs" and a.best_epoch == b.best_epoch
    assert [e["valid_NDCG@10"] for e in a.log if "valid_NDCG@10" in e] == \
        [e["valid_NDCG@10"] for e in b.log if "valid_NDCG@10" in e]
    for x, y in ((a, b), (a.refit, b.refit)):
        sx, sy = x.net.state_dict(), y.net.state_dict()
        assert all(torch.equal(sx[k], sy[k]) for k in sx)
    pd.testing.assert_frame_equal(sasrec.predict(a, inter, samples), sasrec.predict(b, inter, samples))
    sasrec.save(a, tmp_path / "m")
    assert sasrec.load(tmp_path / "m").stop_reason == "max_epochs"


def test_defaults_match_config_yaml():
    """config/config.yaml is the single source of settings: SASRecConfig's defaults must agree with its
    `methods.sasrec` block, and no dataset may stop by the clock by default."""
    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())
    block = cfg["methods"]["sasrec"]
    defaults = sasrec.SASRecConfig()
    assert {k: getattr(defaults, k) for k in block} == block
    assert block["time_budget_s"] is None
    for name, dataset in cfg["datasets"].items():
        override = dataset.get("overrides", {}).get("sasrec", {})
        assert override.get("time_budget_s") is None, name
        sasrec.SASRecConfig.from_dict({**block, **override})


def test_no_leakage_from_test_events():
    inter, samples = _successor_frames(n_users=60)
    cfg = _config(max_epochs=2)
    base = sasrec.train_and_predict(inter, samples, cfg, splits=("valid",))
    changed = inter.copy()
    test_rows = changed["split"] == "test"
    changed.loc[test_rows, "item_id"] = "i0"
    changed_samples = samples.copy()
    changed_samples.loc[changed_samples["split"] == "test", "item_id"] = "i0"
    again = sasrec.train_and_predict(changed, changed_samples, cfg, splits=("valid",))
    pd.testing.assert_frame_equal(base, again)


def test_training_windows_cover_every_target_once():
    seq = list(range(1, 24))  # 23 items -> 22 targets
    inputs, targets = sasrec.training_windows([seq], max_len=10)
    assert inputs.shape == (3, 10)
    got = sorted(t for row in targets for t in row if t)
    assert got == seq[1:]
    for inp, tgt in zip(inputs, targets):
        for a, b in zip(inp, tgt):
            assert (a == 0 and b == 0) or b == a + 1  # each target's input is its predecessor
    assert (targets[0] == np.arange(14, 24)).all()  # the most recent window comes first


def test_config_from_dict_rejects_unknown_keys():
    assert sasrec.SASRecConfig.from_dict({"max_len": 7}).max_len == 7
    with pytest.raises(ValueError):
        sasrec.SASRecConfig.from_dict({"hidden": 7})


@pytest.mark.parametrize("position_from", ["start", "end"])
def test_causal_attention(position_from):
    torch.manual_seed(0)
    net = sasrec.SASRecNet(n_items=20, hidden=16, layers=2, heads=2, inner=32, dropout=0.3, max_len=8,
                           position_from=position_from).eval()
    seq = torch.tensor([[0, 0, 3, 5, 7, 2, 9, 4]])
    full = net(seq)
    changed = seq.clone()
    changed[0, -1] = 11  # a later item never changes an earlier position's output
    assert torch.allclose(net(changed)[0, :-1], full[0, :-1], atol=1e-6)
    assert torch.allclose(net(seq, last_only=True)[0, -1], full[0, -1], atol=1e-6)
    if position_from == "start":
        # a prefix gets the same positions alone as inside a longer sequence (train/inference match)
        prefix = torch.tensor([[3, 5, 7]])
        assert torch.allclose(net(prefix)[0, -1], full[0, 4], atol=1e-5)


def test_refit_uses_valid_events_for_test_only(tmp_path):
    inter, samples = _successor_frames(n_users=60)
    model = sasrec.train(inter, samples, _config(max_epochs=3, patience=5, refit_for_test=True))
    again = model.refit
    assert again is not None and model.for_split("test") is again and model.for_split("valid") is model
    assert again.best_epoch == model.best_epoch and len(again.log) == model.best_epoch
    assert again.items == model.items and again.refit is None
    out = sasrec.predict(model, inter, samples)
    plain = sasrec.predict(model, inter, samples, use_refit=False)
    assert out["sample_id"].tolist() == plain["sample_id"].tolist()
    # valid samples always come from the selected model; test samples from the refitted one
    valid = out["split"] == "valid"
    pd.testing.assert_frame_equal(out[valid], plain[valid])
    assert out.loc[~valid, "scores"].tolist() != plain.loc[~valid, "scores"].tolist()
    # the refit sees valid events, never test events
    changed = inter.copy()
    changed.loc[changed["split"] == "test", "item_id"] = "i0"
    a = sasrec.refit(changed, model)
    assert all(torch.equal(x, y) for x, y in zip(a.net.state_dict().values(), again.net.state_dict().values()))
    changed = inter.copy()
    changed.loc[changed["split"] == "valid", "item_id"] = "i0"
    b = sasrec.refit(changed, model)
    assert not all(torch.equal(x, y) for x, y in zip(b.net.state_dict().values(), again.net.state_dict().values()))
    # save/load keeps the refitted model
    sasrec.save(model, tmp_path / "m")
    loaded = sasrec.load(tmp_path / "m")
    assert loaded.refit is not None
    pd.testing.assert_frame_equal(sasrec.predict(loaded, inter, samples), out)


def test_target_log_probs_are_the_full_catalogue_log_softmax(trained):
    inter, samples, model = trained
    hist = [["i5", "i6", "i7"], ["i8", "i6", "i7"], ["i1"]]
    got = sasrec.target_log_probs(model, hist, ["i8", "i8", "unknown"])
    with torch.no_grad():
        (_, scores), = list(sasrec.score_histories(model, hist[:1], exclude_history=False))
    assert got[0] == pytest.approx(torch.log_softmax(scores[0], 0)[model.item_index["i8"] - 1].item(), abs=1e-5)
    assert got[0] == pytest.approx(torch.log_softmax(scores[0], 0).max().item())  # the successor is the likeliest
    assert np.isfinite(got[1])  # a history item is scored, not excluded
    assert np.isnan(got[2])


def test_ctr_sasrec_scores_each_window_and_calibrates_on_valid(trained):
    from recforge.methods import ctr_sasrec

    inter, samples, model = trained
    # Windows ending at the users' events: "liked" (1) when the target is the successor SASRec expects.
    # Every window's target is the true next item; half of them get a surprising item instead.
    rows = samples[samples["split"].isin(["valid", "test"])].head(40).copy()
    rows = pd.concat([inter[(inter["split"] == "train")].groupby("user_id").tail(1).head(40), rows])
    rows = rows.reset_index(drop=True)
    surprise = (np.arange(len(rows)) // 2) % 2 == 1  # every other pair: each split gets both labels
    rows.loc[surprise, "item_id"] = [f"i{(int(i[1:]) + 20) % N_ITEMS}" for i in rows.loc[surprise, "item_id"]]
    rows["label"] = (~surprise).astype(int)
    rows["sample_id"] = [f"w{n}" for n in range(len(rows))]
    scores = ctr_sasrec.target_scores(model, inter, rows)
    assert (scores[~surprise].min() > scores[surprise].max())  # the expected item always scores higher
    # The calibration reads valid windows only: train labels of one class would stop a fit on train.
    rows.loc[rows["split"] == "train", "label"] = 1
    out = ctr_sasrec.predict(model, inter, rows, ctr_sasrec.CtrSASRecSettings())
    assert set(out["split"]) == {"valid", "test"} and len(out) == (rows["split"] != "train").sum()
    p = out.set_index("sample_id")["probability"]
    kept = rows[rows["split"] != "train"].set_index("sample_id")
    assert (p[kept["label"] == 1].min() > p[kept["label"] == 0].max()) and p.between(0, 1).all()
