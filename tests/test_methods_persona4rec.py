"""Persona4Rec (seed 003): parsers, loss, profiles, re-ranking and the no-leak rules, against
hand-computed values."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from recforge.data.adapters.amazon2018 import item_name, load_amazon2018, read_review_texts
from recforge.llm.heuristic import write
from recforge.llm.heuristic.aspects import extract
from recforge.llm.structured import validate
from recforge.methods.persona4rec.encoder import info_nce, profile, profile_rows, recency_weights
from recforge.methods.persona4rec.histories import selection_pairs
from recforge.methods.persona4rec.personas import catalogue_rows, group_aspects
from recforge.methods.persona4rec.predict import base_predictions, persona_predictions
from recforge.methods.persona4rec.rerank import ScoringIndex, candidate_lists, choose_alpha, combine, reranked
from recforge.methods.persona4rec.reviews import review_table
from recforge.methods.persona4rec.settings import Persona4RecSettings, SelectionSettings
from recforge.text.outputs import ASPECT_KEYS, ASPECTS_SCHEMA, AspectParseError, parse_aspects, parse_persona_selection


# ------------------------------------------------------------------ stage 1: JSON parse and repair
def test_strict_aspects_json_is_valid_as_written():
    answer = {k: None for k in ASPECT_KEYS} | {"category_preference": "cooking"}
    aspects, repaired = parse_aspects(json.dumps(answer))
    assert aspects["category_preference"] == "cooking" and not repaired


def test_aspects_repair_fences_python_literals_trailing_comma_and_keys():
    text = '```json\n{"Category Preference": "tech", "purchase_purpose": None, "quality criteria": ["ads", "price"],}\n```'
    aspects, repaired = parse_aspects(text)
    assert repaired
    assert aspects == {
        "category_preference_reason": None, "category_preference": "tech",
        "purchase_purpose_reason": None, "purchase_purpose": None,
        "quality_criteria_reason": None, "quality_criteria": "ads; price",
        "usage_context_reason": None, "usage_context": None,
    }


def test_aspects_repair_a_cut_off_answer_and_none_words():
    aspects, repaired = parse_aspects('Here: {"usage_context": "N/A", "purchase_purpose": "gift"')
    assert repaired and aspects["purchase_purpose"] == "gift" and aspects["usage_context"] is None


@pytest.mark.parametrize("text", ["no json here", '{"rating": 5}', "[1, 2]", '{"a": }'])
def test_unreadable_aspects_raise_instead_of_empty_dict(text):
    with pytest.raises(AspectParseError):
        parse_aspects(text)


# ------------------------------------------------------------------ stage 4: both selection formats
@pytest.mark.parametrize("text,expected", [
    ("Reasoning: likes tech.\nSelection: P3", "P3"),
    ("Reasoning: x\nSelection: [P2]", "P2"),
    ("Reasoning: x\n**Selection:** 3. B08TVYZQ1G_P3", "P3"),   # the sample's second format
    ("**Selection:** 2", "P2"),
    ("Selection: P1\n...on reflection...\nSelection: P2", "P2"),  # the last one counts
    ("Selection: P9", None),                                      # not a persona of the target
    ("Selection: 3. OTHERITEM_P3", None),                         # another item's persona
    ("Reasoning only, no selection", None),
])
def test_selection_parser_reads_both_formats(text, expected):
    assert parse_persona_selection(text, {"P1", "P2", "P3"}, "B08TVYZQ1G") == expected


# ------------------------------------------------------------------ encoder: loss, weights, profile
def test_info_nce_with_label_smoothing_hand_computed():
    eye = torch.eye(2)
    # logits = I / 1: row log-softmax [1 - log(1 + e), -log(1 + e)] = [-0.31326, -1.31326];
    # eps 0.1 over 2 classes: 0.95 * 0.31326 + 0.05 * 1.31326 = 0.36326 for each row.
    loss = info_nce(eye, eye, temperature=1.0, label_smoothing=0.1)
    assert float(loss) == pytest.approx(0.95 * math.log(1 + math.e) - 0.95 + 0.05 * math.log(1 + math.e), abs=1e-6)
    assert float(loss) == pytest.approx(0.36326, abs=1e-5)
    # Without masking it is torch's label-smoothed cross-entropy.
    torch_ce = torch.nn.functional.cross_entropy(eye, torch.arange(2), label_smoothing=0.1)
    assert float(loss) == pytest.approx(float(torch_ce), abs=1e-6)
    # The same persona picked by both users is masked, not a negative: nothing left to contrast.
    assert float(info_nce(eye, eye, 1.0, 0.1, ["i_P1", "i_P1"])) == pytest.approx(0.0, abs=1e-7)


def test_info_nce_temperature_sharpens():
    p = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.1, 1.0]]), dim=1)
    assert float(info_nce(p, p, 0.05, 0.0)) < float(info_nce(p, p, 1.0, 0.0))


def test_recency_weights_and_profile():
    # gamma 0.5, three events oldest first: 0.25, 0.5, 1 over 1.75.
    assert recency_weights(3, 0.5) == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]])
    # weights 1/3, 2/3 -> (1/3, 2/3) normalised -> (1, 2)/sqrt(5)
    assert profile(vectors, 0.5) == pytest.approx(np.array([1, 2]) / math.sqrt(5), abs=1e-6)
    torch_profile = profile(torch.tensor(vectors, dtype=torch.float32), 0.5)
    assert torch_profile.numpy() == pytest.approx(np.array([1, 2]) / math.sqrt(5), abs=1e-6)


def test_profile_rows_reads_only_liked_events_before_the_target():
    positions, ratings = np.array([0, 1, 2, 3, 4]), np.array([5.0, 2.0, 4.0, 5.0, 5.0])
    assert profile_rows(positions, ratings, before=3, k_recent=10, min_rating=3.0).tolist() == [0, 2]
    assert profile_rows(positions, ratings, before=5, k_recent=2, min_rating=3.0).tolist() == [3, 4]
    # nothing liked before the target: the most recent events instead
    assert profile_rows(positions, np.array([1.0, 2.0, 1.0, 5.0, 5.0]), 3, 2, 3.0).tolist() == [1, 2]
    assert profile_rows(positions, ratings, before=0, k_recent=2, min_rating=3.0).tolist() == []


# ------------------------------------------------------------------ re-ranking and blending
def test_max_persona_and_blend_ordering():
    # Item a has personas at cos 0.1 and 0.9 with the user (max 0.9), b one at 0.5, c none.
    index = ScoringIndex.build(
        persona_vectors=np.array([[0.1, 0.0], [0.9, 0.0], [0.5, 0.0]]),
        persona_items=["a", "a", "b"],
        event_vectors=np.array([[1.0, 0.0]]),
        events=pd.DataFrame({"user_id": ["u"], "position": [0], "rating": [5.0]}),
    )
    user = index.profile("u", before=1, k_recent=10, gamma=0.65, min_rating=3.0)
    persona = index.persona_scores(user, ["c", "b", "a"])
    assert np.isnan(persona[0]) and persona[1:] == pytest.approx([0.5, 0.9])
    base = np.array([3.0, 2.0, 1.0])  # the first stage ranks c, b, a
    # pure persona: a (0.9), b (0.5), c (missing -> the list's lowest, 0.5; ties keep base order: b first)
    assert combine(persona, base, None) == pytest.approx([0.5, 0.5, 0.9])
    candidates = pd.DataFrame({"items": [["c", "b", "a"]], "scores": [base.tolist()]})
    assert reranked(candidates, [persona], None) == [["a", "c", "b"]]
    # blend 0.5: persona min-max [0, 0, 1], base min-max [1, 0.5, 0] -> c 0.5, b 0.25, a 0.5: c, a, b
    assert combine(persona, base, 0.5) == pytest.approx([0.5, 0.25, 0.5])
    assert reranked(candidates, [persona], 0.5) == [["c", "a", "b"]]
    assert reranked(candidates, [persona], 0.9) == [["a", "c", "b"]]
    # no profile: the base order for both variants
    assert reranked(candidates, [np.full(3, np.nan)], None) == [["c", "b", "a"]]
    assert reranked(candidates, [np.full(3, np.nan)], 0.5) == [["c", "b", "a"]]


def test_alpha_is_chosen_on_valid_rows_only():
    candidates = pd.DataFrame({
        "split": ["valid", "test"], "item_id": ["a", "c"],
        "items": [["c", "b", "a"], ["c", "b", "a"]], "scores": [[3.0, 2.0, 1.0]] * 2,
    })
    persona = [np.array([0.0, 0.5, 0.9])] * 2
    alpha, curve = choose_alpha(candidates, persona, [0.1, 0.9])
    assert alpha == 0.9 and curve[0.9] == 1.0 and curve[0.1] == pytest.approx(0.5)  # a at rank 3: 1/log2(4)


def test_candidate_lists_keep_the_first_stage_and_report_the_ceiling():
    first = pd.DataFrame({"sample_id": ["u:2", "v:2"], "split": ["test", "test"],
                          "items": [["a", "b", "c"], ["d", "e", "f"]], "scores": [[3.0, 2.0, 1.0]] * 2})
    samples = pd.DataFrame({"sample_id": ["u:2", "v:2"], "user_id": ["u", "v"], "item_id": ["c", "z"],
                            "position": [2, 2], "split": ["test", "test"], "rating": [5.0, 5.0]})
    candidates, report = candidate_lists(first, samples, k=2)
    assert candidates["items"].tolist() == [["a", "b"], ["d", "e"]]       # c is not forced in
    assert report["splits"]["test"]["target_in_list"] == 0.0
    assert candidate_lists(first, samples, k=3)[1]["splits"]["test"]["target_in_list"] == 0.5
    assert base_predictions(candidates)["items"].tolist() == [["a", "b"], ["d", "e"]]


def test_persona_predictions_are_permutations_with_latency():
    index = ScoringIndex.build(np.array([[1.0, 0.0], [0.0, 1.0]]), ["a", "b"], np.array([[0.0, 1.0]]),
                               pd.DataFrame({"user_id": ["u"], "position": [0], "rating": [5.0]}))
    candidates = pd.DataFrame({"sample_id": ["u:1"], "split": ["test"], "user_id": ["u"], "item_id": ["b"],
                               "position": [1], "items": [["a", "b"]], "scores": [[2.0, 1.0]]})
    predictions, efficiency = persona_predictions("persona4rec", candidates, index, Persona4RecSettings())
    assert predictions["items"].tolist() == [["b", "a"]]
    assert efficiency["online_latency_per_user"]["n"] == 1 and efficiency["alpha"] is None


# ------------------------------------------------------------------ no leakage
def _interactions():
    return pd.DataFrame({
        "user_id": ["u"] * 4 + ["v"] * 3, "item_id": ["a", "b", "c", "d", "a", "c", "b"],
        "rating": [5.0, 4.0, 2.0, 5.0, 5.0, 4.0, 3.0], "timestamp": [1, 2, 3, 4, 1, 2, 3],
        "position": [0, 1, 2, 3, 0, 1, 2], "split": ["train", "train", "valid", "test", "train", "valid", "test"],
    })


def test_test_phase_reviews_never_leave_the_review_stage():
    raw = _interactions()[["user_id", "item_id", "timestamp"]].assign(review_title="t", review_text="great recipes")
    reviews, report = review_table(_interactions(), raw)
    assert set(reviews["split"]) == {"train", "valid"}
    assert report["dropped_test_phase_reviews"] == 2
    assert reviews["review_id"].tolist() == ["u:0", "u:1", "u:2", "v:0", "v:1"]


def test_personas_are_built_from_train_phase_reviews_only():
    raw = _interactions()[["user_id", "item_id", "timestamp"]].assign(review_title="t", review_text="x")
    reviews, _ = review_table(_interactions(), raw)
    aspects = reviews.drop(columns="review_text").assign(aspects=json.dumps({k: None for k in ASPECT_KEYS}))
    items = pd.DataFrame({"item_id": list("abcd"), "title": list("ABCD")})
    summaries = pd.DataFrame({"item_id": list("abcd"), "summary": ["s"] * 4})
    grouped = group_aspects(aspects, items, summaries, max_reviews=40)
    used = {r["review_id"] for cell in grouped["reviews"] for r in json.loads(cell)}
    assert used == {"u:0", "u:1", "v:0"}          # u:2 and v:1 are valid targets: never persona text
    assert "c" not in set(grouped["item_id"])     # c has only a valid-phase review


def test_selection_labels_come_from_liked_train_targets_only():
    samples = pd.DataFrame({"sample_id": ["u:1", "u:2", "u:3", "v:1", "v:2"], "user_id": ["u", "u", "u", "v", "v"],
                            "item_id": ["b", "c", "d", "c", "b"], "position": [1, 2, 3, 1, 2],
                            "split": ["train", "valid", "test", "valid", "test"], "rating": [4.0, 2.0, 5.0, 4.0, 3.0]})
    history = pd.DataFrame({"user_id": ["u", "u", "u", "v", "v"], "position": [0, 1, 2, 0, 1]})
    pairs = selection_pairs(samples, history, {"a", "b", "c", "d"}, SelectionSettings(min_history=1), 3.0)
    assert pairs["sample_id"].tolist() == ["u:1"]


# ------------------------------------------------------------------ heuristic writers: the schemas
def test_heuristic_aspects_read_the_review():
    aspects = extract("Great gift", "I bought this for my wife. The recipes are easy and there are few ads.")
    assert aspects["purchase_purpose"] == "as a gift, for a family member"
    assert aspects["purchase_purpose_reason"] == "Great gift"
    assert aspects["category_preference"] == "cooking and recipes"
    assert aspects["quality_criteria"] == "amount of advertising"
    assert aspects["quality_criteria_reason"] == "The recipes are easy and there are few ads."
    assert aspects["usage_context"] == "shared with the family"          # "for my wife"
    validate(json.dumps(aspects), ASPECTS_SCHEMA)


def test_heuristic_personas_and_selection_keep_the_schema():
    reviews = [
        {"rating": 5.0, "aspects": extract("Love the recipes", "Great recipes every month.")},
        {"rating": 5.0, "aspects": extract("Gift", "A gift for my mother, she reads it cover to cover.")},
        {"rating": 1.0, "aspects": extract("Too many ads", "Half the pages are ads. Cancelled.")},
    ]
    ctx = {"domain": "magazine", "item_id": "i1", "summary": "A cooking magazine.", "reviews": reviews,
           "min_personas": 2, "max_personas": 7, "like_threshold": 3.0}
    personas = validate(write("review_personas", ctx), {"type": "object"})["personas"]
    assert 2 <= len(personas) <= 3 and [p["ID"] for p in personas] == [f"P{i + 1}" for i in range(len(personas))]
    assert any(p["Name"].endswith("Critic") for p in personas)            # the minority opinion is kept
    assert all(p["Preference_Rationale"].startswith("This persona appreciates this item because") for p in personas)
    rows = catalogue_rows("i1", "A cooking magazine.", personas + personas[:1], max_personas=7)
    assert [r["persona_uid"] for r in rows] == [f"i1_{p['ID']}" for p in personas]   # duplicate ID dropped
    history = [{"rating": 5.0, "review_title": "Best recipes", "summary": "Food magazine",
                "aspects": extract("Best recipes", "I cook from it every week.")}]
    answer = write("review_persona_selection", {"like_threshold": 3.0, "target_id": "i1", "history": history,
                                                "personas": personas})
    assert parse_persona_selection(answer, {p["ID"] for p in personas}, "i1") is not None


# ------------------------------------------------------------------ the Amazon 2018 adapter
@pytest.mark.parametrize("title,description,categories,brand,expected", [
    ("Wired", "", [], "", "Wired"),
    ('<span class="a-size-medium', "Good Housekeeping magazine, together with the Institute", ["M", "Home"], "Hearst",
     "Good Housekeeping"),
    ("<span", "Get ready for the best recipes.", ["Magazine Subscriptions", "Cooking"], "Meredith",
     "Cooking magazine by Meredith"),
    ("<span", "WIRED is the magazine about tech", [], "", "WIRED"),
    ("<span", "", [], "", "Magazine"),
])
def test_item_name_from_description_when_the_title_is_html(title, description, categories, brand, expected):
    assert item_name(title, description, categories, brand) == expected


def test_amazon2018_adapter_maps_fields_and_keeps_review_text(tmp_path):
    reviews = tmp_path / "r.json.gz"
    rows = [{"reviewerID": u, "asin": i, "overall": 5.0, "unixReviewTime": t, "summary": "S", "reviewText": f"text {u}{i}"}
            for u in ("u1", "u2", "u3") for t, i in enumerate(("a", "b", "c"), 1)]
    with gzip.open(reviews, "wt") as handle:
        handle.write("\n".join(json.dumps(r) for r in rows) + "\n")
    meta = tmp_path / "m.json"
    meta.write_text("\n".join(json.dumps({"asin": i, "title": "<span", "description": [f"{i.upper()}X is great"],
                                          "category": ["Magazine Subscriptions", "Arts &amp; Music"], "brand": "B"})
                              for i in ("a", "b", "a")) + "\n")
    ds = load_amazon2018(reviews, meta, user_core=3, item_core=3)
    assert ds.items.set_index("item_id").loc["a", "title"] == "AX"
    assert ds.items.set_index("item_id").loc["a", "categories"] == ["Magazine Subscriptions", "Arts & Music"]
    assert ds.items.set_index("item_id").loc["c", "title"] == ""          # reviewed, no meta row
    assert ds.interactions["timestamp"].max() == 3000
    texts = read_review_texts(reviews)
    assert texts.loc[0].to_dict() == {"user_id": "u1", "item_id": "a", "timestamp": 1000, "rating": 5.0,
                                      "review_title": "S", "review_text": "text u1a"}


def test_settings_read_the_config_section_and_reject_typos():
    import yaml
    from pathlib import Path

    section = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())["methods"]["persona4rec"]
    settings = Persona4RecSettings.from_dict(section)
    assert settings == Persona4RecSettings()                       # config.yaml's values are the defaults
    with pytest.raises(ValueError, match=r"methods.persona4rec.encoder: unknown EncoderSettings keys \['gama'\]"):
        Persona4RecSettings.from_dict({**section, "encoder": {"gama": 0.5}})


def test_prompts_follow_the_seed_inputs():
    from recforge.text.render import render

    personas = [{"ID": "P1", "Name": "Gift Buyer", "Description": "D.", "Preference_Rationale": "R."}]
    ctx = {"like_threshold": 3.0, "target_id": "B1", "personas": personas,
           "history": [{"rating": 5.0, "review_title": "Great", "summary": "A cooking magazine.", "aspects": {}},
                       {"rating": 2.0, "review_title": "Meh", "summary": "A news weekly.", "aspects": {}}]}
    (system, user) = render("review_persona_selection", ctx)
    assert "- Liked: Great | A cooking magazine.\n- Disliked: Meh | A news weekly." in user["content"]
    assert "Target Item ID: B1" in user["content"]                    # the id only, as the seed
    assert "P1. Gift Buyer: D. (Reasoning: R.)" in user["content"]
    aspects = {k: None for k in ASPECT_KEYS} | {"purchase_purpose": "as a gift"}
    (_, user) = render("review_personas", {"domain": "magazine", "summary": "S.", "min_personas": 2, "max_personas": 7,
                                           "reviews": [{"rating": 5.0, "aspects": aspects}]})
    assert 'Review 1 (rating 5) Extracted Aspects:\n{"purchase_purpose": "as a gift"}' in user["content"]  # nulls dropped


def test_encode_is_the_models_own_pooling_in_any_order():
    """Training and caches both call `encode`: it must give what the sentence-transformers model
    itself gives (its pooling module, normalised), whatever the batch order and padding."""
    from recforge.embed import EmbedderSpec, load_sentence_model
    from recforge.methods.persona4rec.encoder import encode, train_top_layers

    model = load_sentence_model(EmbedderSpec(name="minilm", max_seq_length=64, device="cpu"))
    texts = ["[Persona]\nName: Gift Buyer", "a much longer interaction text about recipes and ads " * 3, "short"]
    ours = encode(model, texts, batch_size=2).numpy()
    reference = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert ours == pytest.approx(reference, abs=1e-5)
    assert encode(model, texts[::-1], batch_size=1).numpy()[::-1] == pytest.approx(ours, abs=1e-5)
    assert train_top_layers(model, 2) == sum(p.numel() for n, p in model.named_parameters() if '.layer.4.' in n or '.layer.5.' in n)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".layer.4." in n or ".layer.5." in n for n in trainable)
