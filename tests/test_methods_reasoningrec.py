"""ReasoningRec (seed 004) pieces against hand-computed values: CTR windows, thresholds, the profile
window, P(Yes) readout, stratified K sampling, the predfirst text, and the feature baseline."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from recforge.data.adapters.reasoningrec import load_reasoningrec
from recforge.methods import ctr_logreg
from recforge.methods.reasoningrec.config import settings_from_dict
from recforge.methods.reasoningrec.prompts import build_prompts, predfirst, reasoning_only, teacher_answer
from recforge.methods.reasoningrec.readout import p_yes
from recforge.methods.reasoningrec.sampling import stratified_sample
from recforge.methods.reasoningrec.windows import build_windows, window_report
from recforge.train.select import metric_key


def _events(ratings: dict[str, list[float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-out tables: item ids u-p, samples at every position >= 1."""
    rows = []
    for user, rs in ratings.items():
        n = len(rs)
        for p, r in enumerate(rs):
            split = "test" if p == n - 1 else "valid" if p == n - 2 else "train"
            rows.append({"user_id": user, "item_id": f"{user}{p}", "rating": r, "position": p, "split": split})
    inter = pd.DataFrame(rows)
    samples = inter[inter["position"] >= 1].assign(sample_id=lambda f: f["user_id"] + ":" + f["position"].astype(str))
    return inter, samples


def test_windows_history_labels_and_profile_use_earlier_events_only():
    # user a: 10 events; train target = position 7 (last train), valid 8, test 9.
    inter, samples = _events({"a": [5, 1, 4, 3, 5, 2, 4, 3, 5, 1]})
    w = build_windows(inter, samples, history=3, profile_items=15, like_threshold=4.0).set_index("split")
    assert list(w.index) == ["train", "valid", "test"]  # one train window: the last train event
    assert w.loc["train", "history_items"] == ["a4", "a5", "a6"] and w.loc["train", "item_id"] == "a7"
    assert w.loc["test", "history_items"] == ["a6", "a7", "a8"]
    # rating > 3 (>= 4) is Liked: target ratings 3, 5, 1
    assert list(w["label"]) == [0, 1, 0]
    # profile = events before the train window's history (positions < 4), the same for every window
    for split in ("train", "valid", "test"):
        assert w.loc[split, "profile_items"] == ["a0", "a1", "a2", "a3"]
        assert max(int(i[1:]) for i in w.loc[split, "history_items"]) < w.loc[split, "position"]
    report = window_report(w.reset_index())
    assert report["valid"] == {"n": 1, "positive": 1, "negative": 0, "positive_rate": 1.0, "mean_history": 3.0,
                               "with_profile": 1}


def test_short_user_has_no_profile_and_a_short_history():
    inter, samples = _events({"b": [4, 2, 5]})  # train event 0 only (no train sample), valid 1, test 2
    w = build_windows(inter, samples, history=5, profile_items=15, like_threshold=4.0).set_index("split")
    assert list(w.index) == ["valid", "test"]
    assert w.loc["test", "history_items"] == ["b0", "b1"] and w.loc["test", "history_ratings"] == [4.0, 2.0]
    assert w.loc["test", "profile_items"] == [] and w.loc["valid", "label"] == 0


def test_p_yes_is_the_softmax_over_the_two_answer_logits():
    logits = np.array([[0.0, 2.0, 0.0, -1.0], [5.0, 1.0, 1.0, 9.0]])
    # yes = column 1, no = column 3: row 0 sigmoid(2 - (-1)) = sigmoid(3); row 1 sigmoid(1 - 9) = sigmoid(-8)
    got = p_yes(logits, yes=1, no=3)
    assert got == pytest.approx([1 / (1 + math.exp(-3)), 1 / (1 + math.exp(8))])
    assert got[0] == pytest.approx(0.9525741268) and got[1] == pytest.approx(0.0003353501)
    # other tokens do not matter (no softmax over the vocabulary)
    assert p_yes(np.array([[100.0, 2.0, 0.0, -1.0]]), 1, 3)[0] == pytest.approx(got[0])


def test_stratified_sample_is_balanced_and_seeded():
    rows = pd.DataFrame({"id": range(10), "label": [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]})
    four = stratified_sample(rows, 4, seed=42)
    assert sorted(four["label"]) == [0, 0, 1, 1]
    assert four.equals(stratified_sample(rows, 4, seed=42))
    eight = stratified_sample(rows, 8, seed=0)  # only 3 negatives: all of them, 5 positives
    assert sorted(eight["label"]) == [0, 0, 0, 1, 1, 1, 1, 1]
    assert len(stratified_sample(rows, None, seed=0)) == 10


def test_predfirst_text_and_teacher_parsing():
    teacher = "The user likes shower gels.\nThe target is a gel.\nPrediction: Yes"
    assert reasoning_only(teacher) == "The user likes shower gels. The target is a gel."
    assert teacher_answer(teacher) == 1 and teacher_answer("Prediction: No") == 0 and teacher_answer("x") is None
    assert predfirst(1, reasoning_only(teacher)) == "Prediction: Yes\nThe user likes shower gels. The target is a gel."
    assert predfirst(0, None) == "Prediction: No"


def test_settings_nested_sections_are_typed():
    s = settings_from_dict({"description": {"max_words": 20}, "predict": {"splits": ["valid", "test"]}})
    assert s.description.max_words == 20 and s.predict.splits == ("valid", "test")
    with pytest.raises(ValueError, match="max_word"):
        settings_from_dict({"profile": {"max_word": 3}})


def test_auc_is_a_selection_metric():
    assert metric_key("auc") == ("AUC", "max")


def test_feature_baseline_features_by_hand():
    inter, samples = _events({"a": [5, 1, 4, 3, 5], "b": [4, 2, 5, 5, 1]})
    # give user b's train event 1 the item a1 so that item a1 has ratings from a (1) and b (2)
    inter.loc[(inter.user_id == "b") & (inter.position == 1), "item_id"] = "a1"
    samples = inter[inter["position"] >= 1].assign(sample_id=lambda f: f["user_id"] + ":" + f["position"].astype(str))
    w = build_windows(inter, samples, history=5, profile_items=15, like_threshold=4.0)
    x = ctr_logreg.features(w, inter, like_threshold=4.0, prior=1.0)
    row = w.index[(w.user_id == "b") & (w.split == "train")][0]  # target b:2 (item b2), history [b0, a1]
    # user rate (1 liked of 2 + 1) / (2 + 2) = 0.5; item b2 has only its own train event -> (0 + 1) / (0 + 2)
    assert x[row].tolist() == pytest.approx([0.5, 0.5, 1.0])
    row = w.index[(w.user_id == "a") & (w.split == "test")][0]  # target a4, history a0..a3 (5, 1, 4, 3)
    assert x[row].tolist() == pytest.approx([(2 + 1) / (4 + 2), 0.5, 2.0])
    w2 = w[(w.user_id == "b") & (w.split == "valid")].assign(item_id="a1")  # not a train event
    # a1 has two train events (ratings 1 and 2), neither liked -> (0 + 1) / (2 + 2)
    assert ctr_logreg.features(w2, inter, 4.0, 1.0)[0, 1] == pytest.approx(0.25)


def test_adapter_collapses_repeats_and_drops_short_users(tmp_path):
    (tmp_path / "ratings.csv").write_text(
        "item,user,rating,timestamp\n0,0,4.0,100\n1,0,5.0,200\n1,0,5.0,200\n2,0,2.0,300\n"
        "3,1,5.0,100\n3,1,5.0,100\n4,1,1.0,200\n")
    (tmp_path / "processed_item_information.json").write_text(json.dumps({
        str(i): {"title": f"T&amp;{i}", "brand": "B", "price": "$1", "description": "\n\nleaky"} for i in range(5)}))
    data = load_reasoningrec(tmp_path)
    assert data.quarantine.dropped["repeated row (same user, item and timestamp)"] == 2
    assert list(data.interactions["user_id"].unique()) == ["0"]  # user 1 keeps 2 events: dropped
    assert list(data.interactions["split"]) == ["train", "valid", "test"]
    assert list(data.interactions["timestamp"]) == [100_000, 200_000, 300_000]
    items = data.items.set_index("item_id")
    assert items.loc["0", "title"] == "T&0" and items.loc["0", "description"] == ""
    assert list(items.loc["0", "features"]) == ["Price: $1"]


def test_paper_texts_switch_reads_the_shipped_files(tmp_path):
    from recforge.methods.reasoningrec.texts import paper_texts

    (tmp_path / "processed_item_information.json").write_text(json.dumps({
        "1": {"title": "A", "description": "\n\nGood razor.\nCostly."}, "2": {"title": "B"}}))
    (tmp_path / "user_profile_summary.json").write_text(json.dumps({"7": "\n\nLikes razors."}))
    desc, prof = paper_texts(tmp_path, pd.DataFrame({"item_id": ["1", "2", "3"]}))
    assert list(desc["description"]) == ["Good razor. Costly.", "", ""]
    assert prof.to_dict("records") == [{"user_id": "7", "profile": "Likes razors.", "source": "paper:mixtral-8x7b"}]


def test_prompt_shows_liked_disliked_history_and_the_target():
    from recforge.methods.reasoningrec.prompts import build_prompts

    items = pd.DataFrame({"item_id": ["x", "y", "z"], "title": ["X", "Y", "Z"], "brand": ["Bx", "", ""],
                          "features": [["Price: $1"], [], []]})
    windows = pd.DataFrame([{"sample_id": "u:2", "user_id": "u", "split": "test", "item_id": "z", "label": 1,
                             "history_items": ["x", "y"], "history_ratings": [5.0, 3.0]}])
    desc = pd.DataFrame({"item_id": ["x", "z"], "description": ["dx", "dz"]})
    row = build_prompts(windows, items, desc, pd.DataFrame({"user_id": [], "profile": []}), "thing", 4.0).iloc[0]
    assert "Liked X Brand: Bx Price: $1 Description: dx\nDisliked Y\n" in row["user"]
    assert "next target item - Z Description: dz\n" in row["user"] and "User Profile" not in row["user"]
    assert row["system"].startswith("You are an expert thing recommender.")


def test_generated_texts_profile_from_the_profile_window_only(tmp_path):
    from recforge.llm import LLMSettings
    from recforge.methods.reasoningrec.texts import write_texts

    inter, samples = _events({"a": [5, 1, 4, 3, 5, 2, 4, 3, 5, 1]})
    items = pd.DataFrame({"item_id": [f"a{p}" for p in range(10)], "title": [f"Title{p}" for p in range(10)],
                          "categories": [[]] * 10, "description": [""] * 10, "brand": ["B"] * 10,
                          "features": [[]] * 10})
    w = build_windows(inter, samples, history=3, profile_items=15, like_threshold=4.0)
    out = {n: tmp_path / n for n in ("d.parquet", "p.parquet", "u.json")}
    write_texts(w, items, settings_from_dict({}), "thing", LLMSettings.from_dict({"backend": "heuristic"}),
                tmp_path / "cache", out["d.parquet"], out["p.parquet"], out["u.json"])
    profiles = pd.read_parquet(out["p.parquet"])
    (text,) = profiles["profile"]
    # profile window a0..a3 (ratings 5, 1, 4, 3): 2 liked, 2 disliked; nothing from a4 on
    assert "4 thing" in text and "2 liked, 2 disliked" in text
    assert not any(f"Title{p}" in text for p in range(4, 10))
    assert len(pd.read_parquet(out["d.parquet"])) == 10
    usage = json.loads(out["u.json"].read_text())
    assert set(usage) == {"texts", "descriptions", "profiles"}


def test_greedy_match_by_hand():
    from recforge.methods.reasoningrec.similarity import greedy_match

    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    diag = np.array([np.sqrt(0.5), np.sqrt(0.5)])
    candidate, reference = np.stack([e1, diag]), np.stack([e1, e2, e2])
    precision, recall, f1 = greedy_match(candidate, reference)
    # precision: e1 -> 1, diag -> sqrt(.5); recall: e1 -> 1, e2 -> sqrt(.5) twice
    assert precision == pytest.approx((1 + math.sqrt(0.5)) / 2)
    assert recall == pytest.approx((1 + 2 * math.sqrt(0.5)) / 3)
    assert f1 == pytest.approx(2 * precision * recall / (precision + recall))
    assert greedy_match(candidate, candidate)[2] == pytest.approx(1.0)
    assert greedy_match(np.zeros((0, 2)), reference) == (0.0, 0.0, 0.0)


def test_rationales_cover_train_and_the_first_test_windows_only(tmp_path):
    from recforge.llm import LLMSettings
    from recforge.methods.reasoningrec.config import ReasoningTask
    from recforge.methods.reasoningrec.rationales import write_rationales

    inter, samples = _events({u: [5, 1, 4, 3, 5, 2] for u in "abc"})
    items = pd.DataFrame({"item_id": inter["item_id"], "title": inter["item_id"], "categories": [[]] * len(inter),
                          "description": "", "brand": "B", "features": [[]] * len(inter)})
    w = build_windows(inter, samples, history=3, profile_items=15, like_threshold=4.0)
    profiles = pd.DataFrame({"user_id": list("abc"), "profile": ""})
    table = write_rationales(w, items, profiles, ["train"], ReasoningTask(), "thing",
                             4.0, LLMSettings.from_dict({"backend": "heuristic"}), tmp_path / "c.sqlite",
                             tmp_path / "r.parquet", tmp_path / "u.json", test_rows=2)
    assert set(table.loc[table["split"] == "test", "sample_id"]) == {"a:5", "b:5"}
    assert (table["split"] != "valid").all()
    assert len(table[table["split"] == "train"]) == len(w[w["split"] == "train"])


def test_predict_reads_with_the_configured_dtype(tmp_path_factory):
    """predict.dtype overrides the preset's dtype for reading only; the readout stays a probability
    that agrees with float32 to bfloat16's precision, and the cost report names the dtype used."""
    from llm_fixtures.helpers import shared_test_model
    from recforge.methods.reasoningrec.config import PredictSettings
    from recforge.methods.reasoningrec.predict import predict

    model = str(shared_test_model(tmp_path_factory))
    # valid labels (position 4) Yes for a, b and No for c, d: Platt needs both
    inter, samples = _events({u: [5, 1, 4, 3, r, 2] for u, r in zip("abcd", (5, 4, 2, 1))})
    items = pd.DataFrame({"item_id": inter["item_id"], "title": inter["item_id"], "brand": "B",
                          "features": [[]] * len(inter)})
    windows = build_windows(inter, samples, history=3, profile_items=15, like_threshold=4.0)
    empty = pd.DataFrame({"item_id": [], "description": []})
    prompts = build_prompts(windows, items, empty, pd.DataFrame({"user_id": [], "profile": []}), "thing", 4.0)
    load = {"dtype": "float32", "attn_implementation": "sdpa"}
    read = {}
    for dtype in (None, "bfloat16"):
        frame, cost = predict(model, load, prompts, PredictSettings(splits=("valid", "test"), reasoning_samples=0,
                                                                    dtype=dtype))
        assert cost["slot"]["dtype"] == (dtype or "float32") and cost["slot"]["n"] == 8
        assert frame["probability"].between(0, 1).all()
        read[dtype] = frame["probability"].to_numpy()
    assert np.abs(read[None] - read["bfloat16"]).max() < 0.05
    assert not np.array_equal(read[None], read["bfloat16"])  # the dtype did reach the loader
    frame, cost = predict(model, load, prompts, PredictSettings(splits=("valid", "test"), reasoning_samples=0,
                                                                calibration="platt"))
    assert frame["p_yes"].to_numpy() == pytest.approx(read[None])  # the raw readout is kept beside it
    assert cost["calibration"]["n"] == 4 and not np.allclose(frame["probability"], frame["p_yes"])
    slope = np.sign(cost["calibration"]["slope"])  # the map is monotone in P(Yes)
    assert (np.sign(np.diff(frame["probability"].to_numpy()[np.argsort(read[None])])) * slope >= 0).all()


def test_platt_recovers_a_known_logistic_map_and_keeps_the_ranking():
    from recforge.methods.platt import logit, platt

    rng = np.random.default_rng(0)
    scores = rng.normal(size=20000)
    labels = (rng.random(20000) < 1 / (1 + np.exp(-(2.0 * scores - 1.0)))).astype(int)  # slope 2, intercept -1
    fit_rows = np.arange(20000) % 2 == 0
    prob, report = platt(scores, labels, fit_rows, c=1e6)
    assert report["slope"] == pytest.approx(2.0, abs=0.1) and report["intercept"] == pytest.approx(-1.0, abs=0.1)
    assert report["n"] == 10000
    assert np.array_equal(np.argsort(prob, kind="stable"), np.argsort(scores, kind="stable"))  # monotone
    assert logit(np.array([0.5, 1 / (1 + math.exp(-3))])) == pytest.approx([0.0, 3.0])
    with pytest.raises(ValueError, match="both labels"):
        platt(scores, np.ones(20000), fit_rows)


def test_calibration_needs_the_valid_windows():
    from recforge.methods.reasoningrec.config import PredictSettings

    with pytest.raises(ValueError, match="splits must hold valid"):
        PredictSettings(calibration="platt")
    with pytest.raises(ValueError, match="not null or 'platt'"):
        PredictSettings(splits=("valid", "test"), calibration="isotonic")


def test_feature_ablation_benchmark_all_features_is_the_baselines_own_auc():
    """benchmarks/ctr_feature_ablation.py refits ctr_logreg's model: with every feature its AUC is the
    AUC of the method's own predictions, split by split, and the subsets differ from it."""
    import importlib.util
    from pathlib import Path

    from recforge.eval.metrics import auc

    path = Path(__file__).parents[1] / "benchmarks" / "ctr_feature_ablation.py"
    spec = importlib.util.spec_from_file_location("ctr_feature_ablation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    inter, samples = _events({f"u{i}": rng.choice([1.0, 2.0, 4.0, 5.0], size=8).tolist() for i in range(60)})
    inter.loc[inter.position % 2 == 0, "item_id"] = inter["item_id"].str[-1]  # shared items: item rates vary
    samples = inter[inter["position"] >= 1].assign(sample_id=lambda f: f["user_id"] + ":" + f["position"].astype(str))
    w = build_windows(inter, samples, history=5, profile_items=15, like_threshold=4.0)
    out = module.ablation(w, inter, 4.0)
    pred = ctr_logreg.predict(w, inter, ctr_logreg.CtrLogRegSettings(), 4.0).set_index("sample_id")
    for split in ("valid", "test"):
        rows = w[w.split == split]
        expected = auc(rows["label"].to_numpy(), pred.loc[rows["sample_id"], "probability"].to_numpy())
        assert out["all"][split] == pytest.approx(expected, abs=1e-4)
    assert out["item like rate"] != out["all"]
