"""The worked example of docs/adding-a-method.md: next-item transitions against hand-computed lists."""

import pandas as pd
import pytest

from recforge.methods.next_item import NextItemSettings, predict, rank, transitions


def tables():
    # train sequences: u1 a b c, u2 a c b, u3 a b, u4 b; valid/test events are never counted
    rows = [("u1", "a", 0, "train"), ("u1", "b", 1, "train"), ("u1", "c", 2, "train"), ("u1", "d", 3, "valid"),
            ("u1", "e", 4, "test"), ("u2", "a", 0, "train"), ("u2", "c", 1, "train"), ("u2", "b", 2, "train"),
            ("u2", "f", 3, "valid"), ("u3", "a", 0, "train"), ("u3", "b", 1, "train"),
            ("u4", "b", 0, "train"), ("u4", "c", 1, "valid")]
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "position", "split"])
    samples = interactions[interactions["split"] != "train"].assign(
        sample_id=lambda f: f["user_id"] + ":" + f["position"].astype(str))
    return interactions, samples[["sample_id", "user_id", "item_id", "position", "split"]]


def test_transitions_count_only_train_events_within_a_user():
    follows = transitions(tables()[0])
    assert follows["a"] == {"b": 2, "c": 1}
    assert follows["b"] == {"c": 1}
    assert follows["c"] == {"b": 1}  # c -> d is a valid event: never counted
    assert "d" not in follows and "e" not in follows


def test_rank_puts_transitions_first_then_popularity_without_history():
    follows = {"a": {"b": 2, "c": 2, "x": 1}}
    items, scores = rank(["x", "a"], follows, ["z", "b", "y", "a"], k=4)
    assert items == ["b", "c", "z", "y"]  # ties by id; x and a are history
    assert scores == [2.0, 2.0, 0.0, 0.0]


def test_predict_hand_computed_lists():
    interactions, samples = tables()
    out = predict(interactions, samples, NextItemSettings(), k=3).set_index("sample_id")
    # u4 valid: history [b]; b was followed by c once; then popularity (b 4, a 3, c 2) without b, c
    assert list(out.loc["u4:1", "items"]) == ["c", "a"]
    assert list(out.loc["u4:1", "scores"]) == [1.0, 0.0]
    # u1 valid: history a b c (every train item); c was followed only by b: nothing left to recommend
    assert list(out.loc["u1:3", "items"]) == []
    assert set(out.index) == {"u1:3", "u1:4", "u2:3", "u4:1"}


def test_min_count_drops_rare_transitions():
    follows = transitions(tables()[0], min_count=2)
    assert follows["a"] == {"b": 2} and follows["b"] == {}


def test_unknown_setting_is_rejected_with_its_config_place():
    from recforge.settings import typed

    with pytest.raises(ValueError, match="methods.next_item: unknown NextItemSettings keys"):
        typed(NextItemSettings, {"min_cout": 2}, "methods.next_item")
