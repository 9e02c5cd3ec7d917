"""The isir interest sketch: per-sample counts over the sample's own history only (no leakage), the
paper's text, and the vectorised counting against a plain loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recforge.methods.isir.sketch import SketchConfig, cluster_counts, interest_sketches, sketch_text, strongest

NAMES = {0: "Space", 1: "Comedy", 2: "Horror"}
# Items a, b in cluster 0; c in 1; d in 2; e has no cluster (not embedded).
CLUSTERS = pd.DataFrame(
    {
        "item_id": ["a", "b", "c", "d"],
        "cluster": [0, 0, 1, 2],
        "distance": 0.0,
        "rank_in_cluster": [0, 1, 0, 0],
    }
)


def events(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "split"])
    frame["position"] = frame.groupby("user_id").cumcount().astype("int64")
    return frame[["user_id", "item_id", "rating", "position", "split"]]


def samples_of(interactions: pd.DataFrame, min_position: int = 1) -> pd.DataFrame:
    s = interactions[interactions["position"] >= min_position].copy()
    s["sample_id"] = s["user_id"] + ":" + s["position"].astype(str)
    return s[["sample_id", "user_id", "item_id", "position", "split", "rating"]].reset_index(drop=True)


@pytest.fixture
def two_users() -> tuple[pd.DataFrame, pd.DataFrame]:
    interactions = events(
        [
            ("u1", "a", 5.0, "train"),
            ("u1", "c", 2.0, "train"),
            ("u1", "b", 4.0, "train"),
            ("u1", "e", 1.0, "train"),
            ("u1", "d", 3.0, "valid"),
            ("u1", "c", 5.0, "test"),
            ("u2", "d", 5.0, "train"),
            ("u2", "d", 1.0, "train"),
            ("u2", "a", 2.0, "valid"),
            ("u2", "c", 4.0, "test"),
        ]
    )
    samples = samples_of(interactions, min_position=1)
    return interactions, samples


LIKE = "The user shows preference for the following movie topics (ratings ≥ 4):"
DISLIKE = "The user shows dislike for the following movie topics (ratings ≤ 3):"


def test_sketch_of_each_sample_by_hand(two_users):
    interactions, samples = two_users
    table, stats = interest_sketches(interactions, samples, CLUSTERS, NAMES, SketchConfig(domain="movie"))
    got = dict(zip(table["sample_id"], table["sketch"]))
    space_comedy = f"{LIKE}\n- Space\n\n{DISLIKE}\n- Comedy"
    assert got == {
        # history [a5]: Space 1-0
        "u1:1": f"{LIKE}\n- Space",
        # [a5, c2]: Space 1-0, Comedy 0-1
        "u1:2": space_comedy,
        # [a5, c2, b4]: Space 2-0
        "u1:3": space_comedy,
        # + e1: e has no cluster and is skipped
        "u1:4": space_comedy,
        # the test sample's history includes the valid event d3: Horror 0-1
        "u1:5": f"{LIKE}\n- Space\n\n{DISLIKE}\n- Comedy\n- Horror",
        # [d5]: Horror 1-0 (the paper, counting the whole pre-valid history, would see d1 too: a tie)
        "u2:1": f"{LIKE}\n- Horror",
        # [d5, d1]: a tie is left out, so no topic at all
        "u2:2": "",
        # [d5, d1, a2]: only a dislike block
        "u2:3": f"{DISLIKE}\n- Space",
    }
    assert table["sample_id"].tolist() == samples["sample_id"].tolist()
    assert table["n_liked"].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    assert table["n_disliked"].tolist() == [0, 1, 1, 1, 2, 0, 0, 1]
    assert stats["events_without_cluster"] == 1 and stats["items_without_cluster"] == 1
    assert stats["history_events_without_cluster"] == 2  # e is in the histories of u1:4 and u1:5
    assert stats["empty_sketches"] == 1 and stats["samples"] == 8 and stats["clusters"] == 3


def test_train_sketch_ignores_the_target_and_everything_after_it(two_users):
    interactions, samples = two_users
    before, _ = interest_sketches(interactions, samples, CLUSTERS, NAMES, SketchConfig(domain="movie"))
    # Flip the ratings of u1:2's target (b, rated 4) and of every later event of u1.
    changed = interactions.copy()
    later = (changed["user_id"] == "u1") & (changed["position"] >= 2)
    changed.loc[later, "rating"] = 6.0 - changed.loc[later, "rating"]
    changed.loc[later & (changed["position"] == 3), "item_id"] = "c"  # and move a later event into a cluster
    after, _ = interest_sketches(changed, samples, CLUSTERS, NAMES, SketchConfig(domain="movie"))
    b, a = before.set_index("sample_id")["sketch"], after.set_index("sample_id")["sketch"]
    assert a["u1:1"] == b["u1:1"] and a["u1:2"] == b["u1:2"]
    assert a["u1:4"] != b["u1:4"]  # a later sample does see the changed events
    # The target's own rating is not counted: u2:1 (target d rated 1) still likes Horror.
    assert b["u2:1"] == f"{LIKE}\n- Horror"


def test_row_order_and_unknown_users_do_not_matter(two_users):
    interactions, samples = two_users
    expected, _ = interest_sketches(interactions, samples, CLUSTERS, NAMES, SketchConfig(domain="movie"))
    shuffled = interactions.sample(frac=1.0, random_state=3)
    extra = pd.DataFrame(
        [
            {
                "sample_id": "ghost:4",
                "user_id": "ghost",
                "item_id": "a",
                "position": 4,
                "split": "test",
                "rating": 5.0,
            }
        ]
    )
    got, stats = interest_sketches(
        shuffled, pd.concat([samples.iloc[::-1], extra]), CLUSTERS, NAMES, SketchConfig(domain="movie")
    )
    got = got.set_index("sample_id")["sketch"]
    assert got["ghost:4"] == "" and stats["samples_of_unknown_users"] == 1
    assert got.drop("ghost:4").to_dict() == expected.set_index("sample_id")["sketch"].to_dict()


def test_sketch_text_blocks_and_thresholds():
    assert sketch_text([], [], "movie") == ""
    assert sketch_text(["A", "B"], [], "book") == (
        "The user shows preference for the following book topics (ratings ≥ 4):\n- A\n- B"
    )
    assert sketch_text([], ["C"], "movie", pos_threshold=3) == (
        "The user shows dislike for the following movie topics (ratings ≤ 2):\n- C"
    )
    assert sketch_text(["A"], ["C"], "movie", pos_threshold=3.5) == (
        "The user shows preference for the following movie topics (ratings ≥ 3.5):\n- A\n\n"
        "The user shows dislike for the following movie topics (ratings < 3.5):\n- C"
    )


def test_names_missing_for_a_cluster_fall_back_and_unrated_events_count_nowhere(two_users):
    interactions, samples = two_users
    interactions = interactions.copy()
    interactions.loc[(interactions["user_id"] == "u1") & (interactions["position"] == 0), "rating"] = np.nan
    table, stats = interest_sketches(
        interactions, samples, CLUSTERS, {1: "Comedy"}, SketchConfig(domain="movie")
    )
    got = table.set_index("sample_id")["sketch"]
    assert got["u1:1"] == ""  # its only event is unrated
    assert got["u1:2"] == f"{DISLIKE}\n- Comedy"
    assert got["u2:1"] == f"{LIKE}\n- Topic_2"
    assert stats["unrated_events"] == 1


def test_vectorised_counts_match_a_plain_loop():
    rng = np.random.default_rng(7)
    rows = []
    for u in range(40):
        for _ in range(int(rng.integers(1, 15))):
            rating = float(rng.integers(1, 6)) if rng.random() > 0.1 else np.nan
            rows.append((f"u{u:02d}", f"i{int(rng.integers(0, 30))}", rating, "train"))
    interactions = events(rows)
    samples = samples_of(interactions)
    item_cluster = pd.Series({f"i{i}": i % 4 for i in range(25)})  # i25..i29 unclustered
    counts = cluster_counts(interactions.sample(frac=1.0, random_state=0), samples, item_cluster, 4, 3.5)
    for row, (user, position) in enumerate(zip(samples["user_id"], samples["position"])):
        liked, disliked = np.zeros(4, int), np.zeros(4, int)
        seen = interactions[(interactions["user_id"] == user) & (interactions["position"] < position)]
        for item, rating in zip(seen["item_id"], seen["rating"]):
            if item in item_cluster.index and rating == rating:
                (liked if rating >= 3.5 else disliked)[item_cluster[item]] += 1
        assert counts.liked[row].tolist() == liked.tolist()
        assert counts.disliked[row].tolist() == disliked.tolist()


def test_max_topics_keeps_the_strongest_topics_in_cluster_order(two_users):
    interactions, samples = two_users
    table, stats = interest_sketches(interactions, samples, CLUSTERS, NAMES, SketchConfig(domain="movie", max_topics=1))
    got = dict(zip(table["sample_id"], table["sketch"]))
    # u1:5 dislikes Comedy and Horror by one event each: the tie keeps the lower cluster id.
    assert got["u1:5"] == f"{LIKE}\n- Space\n\n{DISLIKE}\n- Comedy"
    assert table["n_disliked"].max() == 1 and stats["max_topics"] == 1
    selected = np.array([[True, True, True, False], [False, True, False, True]])
    margin = np.array([[1, 3, 2, 9], [0, 1, 0, 2]])  # column 3 of row 0 is not selected: never kept
    assert strongest(selected, margin, 2).tolist() == [[False, True, True, False], [False, True, False, True]]
    assert strongest(selected, margin, None) is selected
    assert strongest(selected, margin, 0).sum() == 0
