"""isir rating prompts (seed 000, A.4), verl rows, prompt-length statistics and the three isir data
scripts run end to end on a hand-built catalogue."""

from __future__ import annotations

import logging
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recforge.embed.items import ItemEmbeddings, save_item_embeddings
from recforge.io import read_json
from recforge.methods.isir.prompts import (
    PromptConfig,
    build_prompts,
    rating_text,
    system_prompt,
    trim_categories,
    user_prompt,
)
from recforge.methods.isir.verl import (
    VERL_COLUMNS,
    VerlDataConfig,
    ground_truth,
    prepare_verl_data,
    prompt_length_stats,
    steps_from_end,
    subsample,
    verl_rows,
)
from recforge.text.contexts import item_info, rated_item
from recforge.text.items import item_line
from recforge.text.render import render

REPO = Path(__file__).resolve().parents[1]

SYSTEM = (
    "You are an intelligent recommender system assistant. Your task is to predict the rating (from 1.0 to "
    "5.0) that a user will give to a candidate movie, based on the user's past behavior and preferences."
    "\n\nYou should first reason about how well the candidate item aligns with the user’s historical "
    "preferences, and then output a predicted rating. Your reasoning and the final rating must be wrapped "
    "with <think> </think> and <answer> </answer> tags, respectively.\n\nThe final rating **must be a "
    "numeric value between 1.0 and 5.0**. Do not include any extra explanation after the <answer> tag."
)
INTRO = (
    "Below are the user's recent movie ratings in the format: Title, Genres, Rating. "
    "Ratings range from 1.0 to 5.0.\n\n"
)
QUESTION = "Based on the above information, what rating will the user give?"


@pytest.fixture
def tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d", "e"],
            "title": ["Alien", "Airplane!", "Halloween", "Dune", "Aliens"],
            "categories": [["Movies & TV", "Sci-Fi"], ["Movies & TV", "Comedy"], ["Horror"], [], ["Sci-Fi"]],
        }
    )
    rows = [
        ("u1", "a", 5.0, "train"),
        ("u1", "b", 3.0, "train"),
        ("u1", "c", 4.5, "train"),
        ("u1", "d", 2.0, "valid"),
        ("u1", "e", 4.0, "test"),
        ("u2", "b", 1.0, "train"),
        ("u2", "c", np.nan, "train"),
        ("u2", "a", 5.0, "valid"),
        ("u2", "e", np.nan, "test"),
    ]
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "split"])
    interactions["position"] = interactions.groupby("user_id").cumcount().astype("int64")
    samples = interactions[interactions["position"] >= 1].copy()
    samples["sample_id"] = samples["user_id"] + ":" + samples["position"].astype(str)
    samples = samples[["sample_id", "user_id", "item_id", "position", "split", "rating"]].reset_index(
        drop=True
    )
    return items, interactions, samples


def test_prompt_texts_equal_the_papers_layout(tables):
    items, interactions, samples = tables
    sketch = "The user shows preference for the following movie topics (ratings ≥ 4):\n- Space"
    compact = build_prompts(
        items, interactions, samples, {"u1:4": sketch}, PromptConfig("movie", max_history=2)
    )
    full = build_prompts(items, interactions, samples, None, PromptConfig("movie", max_history=None))
    row = compact.set_index("sample_id").loc["u1:4"]
    assert row["system"] == SYSTEM == system_prompt("movie")
    # the test sample's history includes the valid event (Dune, 2); ratings written as "4.5", "2"
    assert row["user"] == (
        f"{sketch}\n\n{INTRO}Halloween, Horror, 4.5\nDune, 2\n\n"
        f"The candidate movie is described as: Aliens, Sci-Fi\n{QUESTION}"
    )
    assert row["n_history"] == 2 and row["label"] == 4.0 and row["split"] == "test"
    # no sketch: the prompt starts at the intro (the paper's lstrip), and None shows the whole history
    assert full.set_index("sample_id").loc["u1:4", "user"] == (
        f"{INTRO}Alien, Movies & TV|Sci-Fi, 5\nAirplane!, Movies & TV|Comedy, 3\nHalloween, Horror, 4.5\n"
        f"Dune, 2\n\nThe candidate movie is described as: Aliens, Sci-Fi\n{QUESTION}"
    )
    # an unrated history event shows "?"; the first sample has one history line
    u2 = full.set_index("sample_id")
    assert "Halloween, Horror, ?\n" in u2.loc["u2:3", "user"]
    assert u2.loc["u2:1", "user"].startswith(f"{INTRO}Airplane!, Movies & TV|Comedy, 1\n\nThe candidate")
    assert compact["sample_id"].tolist() == samples["sample_id"].tolist()
    assert compact["n_history"].tolist() == [1, 2, 2, 2, 1, 2, 2]
    assert (
        user_prompt("  ", [], "X", "movie")
        == f"{INTRO}\n\nThe candidate movie is described as: X\n{QUESTION}"
    )
    assert [rating_text(x) for x in (4.0, 4.5, np.nan, None)] == ["4", "4.5", "?", "?"]


def test_prompts_match_the_rating_cot_renderer(tables):
    items, interactions, samples = tables
    by_id = {r["item_id"]: r for r in items.to_dict("records")}
    prompts = build_prompts(
        items, interactions, samples, {"u1:4": "SKETCH"}, PromptConfig("movie", max_history=3)
    )
    events = interactions[interactions["user_id"] == "u1"]
    context = {
        "domain": "movie",
        "sketch": "SKETCH",
        "history": [rated_item(by_id[i], r) for i, r in zip(events["item_id"][:4], events["rating"][:4])],
        "target": item_info(by_id["e"]),
        "rating": None,
        "max_history": 3,
    }
    messages = render("rating_cot", context)
    row = prompts.set_index("sample_id").loc["u1:4"]
    assert [m["content"] for m in messages] == [row["system"], row["user"]]


def test_verl_rows_schema_and_parquet_types(tables, tmp_path):
    items, interactions, samples = tables
    prompts = build_prompts(items, interactions, samples, None, PromptConfig("movie"))
    rows = verl_rows(prompts, "Movies")
    assert list(rows.columns) == list(VERL_COLUMNS)
    assert rows["sample_id"].tolist() == ["u1:1", "u1:2", "u1:3", "u1:4", "u2:2"]  # rated targets only
    row = rows.set_index("sample_id").loc["u1:3"]
    assert row["data_source"] == "recforge/Movies" and row["ability"] == "logic"
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]
    assert row["prompt"][1]["content"] == prompts.set_index("sample_id").loc["u1:3", "user"]
    assert row["reward_model"] == {
        "style": "rule", "ground_truth": "2", "rating_scale": {"min": 1.0, "max": 5.0, "step": 1.0}
    }
    assert row["extra_info"] == {"split": "valid", "user_id": "u1", "item_id": "d", "sample_id": "u1:3"}
    assert row["label"] == 2.0 and row["split"] == "valid"
    assert [ground_truth(x) for x in (5.0, 3.0, 4.5)] == ["5", "3", "4.5"]
    path = tmp_path / "rows.parquet"
    rows.to_parquet(path, index=False)
    schema = pq.read_schema(path)
    assert schema.field("prompt").type == pa.list_(
        pa.struct([("role", pa.string()), ("content", pa.string())])
    )
    scale_type = pa.struct([("min", pa.float64()), ("max", pa.float64()), ("step", pa.float64())])
    assert schema.field("reward_model").type == pa.struct(
        [("style", pa.string()), ("ground_truth", pa.string()), ("rating_scale", scale_type)]
    )
    assert [f.name for f in schema.field("extra_info").type] == ["split", "user_id", "item_id", "sample_id"]
    assert schema.field("label").type == pa.float64()
    assert pd.api.types.is_string_dtype(pd.read_parquet(path)["sample_id"])


def test_train_subsample_is_deterministic_and_nested():
    rows = pd.DataFrame({"sample_id": [f"u{i}:{i % 7 + 1}" for i in range(200)], "x": range(200)})
    small = subsample(rows, 30, seed=1)
    assert len(small) == 30 and small["x"].is_monotonic_increasing  # kept in row order
    shuffled = subsample(rows.sample(frac=1.0, random_state=0), 30, seed=1)
    assert set(shuffled["sample_id"]) == set(small["sample_id"])
    assert set(small["sample_id"]) <= set(subsample(rows, 60, seed=1)["sample_id"])
    assert set(subsample(rows, 30, seed=2)["sample_id"]) != set(small["sample_id"])
    assert subsample(rows, None) is rows and subsample(rows, 500) is rows


def test_recent_order_takes_each_users_last_samples_first():
    rows = pd.DataFrame({"sample_id": ["a:1", "a:2", "a:10", "b:3", "b:4", "c:1"]})
    assert steps_from_end(rows["sample_id"]).tolist() == [2, 1, 0, 1, 0, 0]  # 10 > 2 as numbers
    assert set(subsample(rows, 3, order="recent")["sample_id"]) == {"a:10", "b:4", "c:1"}
    four = set(subsample(rows, 4, order="recent")["sample_id"])
    assert four - {"a:10", "b:4", "c:1"} <= {"a:2", "b:3"} and len(four) == 4  # then the ones before
    assert subsample(rows, 5, order="recent")["sample_id"].tolist() == ["a:2", "a:10", "b:3", "b:4", "c:1"]
    with pytest.raises(ValueError, match="unknown sample order"):
        subsample(rows, 3, order="latest")


def small_tokenizer(items: pd.DataFrame, prompts: pd.DataFrame):
    from recforge.models.tokenizer import train_bpe_tokenizer

    return train_bpe_tokenizer([*items["title"], *prompts["system"], *prompts["user"]], vocab_size=400)


def test_prompt_length_stats_compare_compact_and_full_prompts(tables):
    items, interactions, samples = tables
    compact = verl_rows(build_prompts(items, interactions, samples, None, PromptConfig("movie", 1)), "Movies")
    full = verl_rows(build_prompts(items, interactions, samples, None, PromptConfig("movie", None)), "Movies")
    tokenizer = small_tokenizer(
        items, build_prompts(items, interactions, samples, None, PromptConfig("movie"))
    )
    test = compact[compact["split"] == "test"]
    stats = prompt_length_stats(tokenizer, test, full)
    assert stats["n"] == 1  # u1:4 only (u2's test target is unrated); joined on sample_id
    text = tokenizer.apply_chat_template(test["prompt"].iloc[0], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    assert stats["compact"]["max_tokens"] == len(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert (
        stats["full"]["mean_tokens"] > stats["compact"]["mean_tokens"] and 0 < stats["mean_token_ratio"] < 1
    )
    same = prompt_length_stats(tokenizer, full, full)
    assert same["n"] == len(full) and same["compact"] == same["full"] and same["mean_token_ratio"] == 1.0


def test_prepare_verl_data_counts_and_keys(tables):
    items, interactions, samples = tables
    clusters = pd.DataFrame({"item_id": list("abcde"), "cluster": [0, 1, 2, 2, 0]})
    names = pd.DataFrame({"cluster": [0, 1, 2], "name": ["Space", "Laughs", "Fear"]})
    splits, stats = prepare_verl_data(
        items,
        interactions,
        samples,
        clusters,
        names,
        None,
        dataset="Movies",
        domain="movie",
        config=VerlDataConfig(max_history=10, max_train_samples=1, seed=0),
    )
    assert set(splits) == {"train", "val", "test"}
    assert len(splits["train"]) == 1 and splits["train"]["sample_id"].iloc[0] in {"u1:1", "u1:2"}
    assert splits["val"]["sample_id"].tolist() == ["u1:3", "u2:2"]
    assert splits["test"]["sample_id"].tolist() == ["u1:4"]
    assert stats["splits"]["train"] == {"samples": 3, "unlabelled_dropped": 1, "rows": 1}
    assert stats["splits"]["test"] == {"samples": 2, "unlabelled_dropped": 1, "rows": 1}
    assert "prompt_lengths" not in stats  # no tokenizer
    # u1:4's history [a5, b3, c4.5, d2]: Space 1-0, Laughs 0-1, Fear 1-1 (tie, left out)
    user = splits["test"]["prompt"].iloc[0][1]["content"]
    assert user.startswith(
        "The user shows preference for the following movie topics (ratings ≥ 4):\n- Space\n\n"
        "The user shows dislike for the following movie topics (ratings ≤ 3):\n- Laughs\n\n" + INTRO
    )



def test_trim_categories_keeps_the_most_specific_names():
    items = pd.DataFrame({"item_id": list("abcd"), "categories": [
        ["Movies & TV", "Featured Categories", "Blu-ray", "Action & Adventure", "Westerns"],
        ["Movies & TV", "Studio Specials", "All Fox Titles"],  # all generic: the last one stays
        [], ["Horror"]]})
    assert trim_categories(items, 1)["categories"].tolist() == [["Westerns"], ["All Fox Titles"], [], ["Horror"]]
    assert trim_categories(items, 3)["categories"].iloc[0] == ["Action & Adventure", "Westerns"]
    assert trim_categories(items, 0)["categories"].iloc[0] == []
    assert trim_categories(items, None) is items
    assert items["categories"].iloc[0][0] == "Movies & TV"  # the input is not changed


def test_compact_prompts_are_shorter_and_keep_every_rating(tables):
    items, interactions, samples = tables
    clusters = pd.DataFrame({"item_id": list("abcde"), "cluster": [0, 1, 2, 2, 0]})
    names = pd.DataFrame({"cluster": [0, 1, 2], "name": ["Space", "Laughs", "Fear"]})
    args = (items, interactions, samples, clusters, names, None)
    paper = VerlDataConfig(max_topics=None, max_categories=None)
    full, _ = prepare_verl_data(*args, dataset="Movies", domain="movie", config=paper)
    compact, stats = prepare_verl_data(*args, dataset="Movies", domain="movie",
                                       config=VerlDataConfig(max_topics=0, max_categories=0))
    short, long = compact["test"]["prompt"].iloc[0][1]["content"], full["test"]["prompt"].iloc[0][1]["content"]
    assert "Movies & TV" in long and "Movies & TV" not in short and "topics" not in short
    assert short.endswith("Alien, 5\nAirplane!, 3\nHalloween, 4.5\nDune, 2\n\n"
                          "The candidate movie is described as: Aliens\n" + QUESTION)
    assert stats["config"]["max_topics"] == 0 and stats["sketch"]["max_topics"] == 0

class Named(dict):
    """The attribute-and-key access of Snakemake's input/output/params objects."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


@pytest.fixture
def restore_logging(monkeypatch):
    """The scripts send logging and stderr to their log file; put both back afterwards."""
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def run_script(name: str, tmp: Path, **parts) -> None:
    snakemake = SimpleNamespace(log=[str(tmp / f"{name}.log")], threads=1, wildcards=Named(dataset="Movies"))
    for key in ("input", "output", "params"):
        setattr(snakemake, key, Named(parts.get(key, {})))
    runpy.run_path(str(REPO / "workflow" / "scripts" / f"{name}.py"), init_globals={"snakemake": snakemake})


def test_isir_scripts_end_to_end(tables, tmp_path, restore_logging):
    items, interactions, samples = tables
    data = {}
    for name, frame in (
        ("items_table", items),
        ("interactions_table", interactions),
        ("splits_table", samples),
    ):
        data[name] = str(tmp_path / f"{name}.parquet")
        frame.to_parquet(data[name], index=False)
    rng = np.random.default_rng(0)
    embeddings = ItemEmbeddings(
        items["item_id"].tolist(), rng.normal(size=(len(items), 6)).astype(np.float32)
    )
    save_item_embeddings(
        embeddings, {}, tmp_path / "emb.npy", tmp_path / "emb_ids.parquet", tmp_path / "emb.json"
    )
    tokenizer = small_tokenizer(
        items, build_prompts(items, interactions, samples, None, PromptConfig("movie"))
    )
    tokenizer.save_pretrained(tmp_path / "base_model")

    out = {k: str(tmp_path / f"{k}") for k in ("clusters.parquet", "names.parquet", "usage.json")}
    run_script(
        "isir_clusters",
        tmp_path,
        input={"vectors": str(tmp_path / "emb.npy"), "ids": str(tmp_path / "emb_ids.parquet")},
        output={"clusters": out["clusters.parquet"]},
        params={"clusters": {"n_clusters": 2, "niter": 5, "nredo": 1, "seed": 0}},
    )
    clusters = pd.read_parquet(out["clusters.parquet"])
    assert sorted(clusters["item_id"]) == list("abcde") and set(clusters["cluster"]) == {0, 1}
    run_script(
        "isir_cluster_names",
        tmp_path,
        input={"clusters": out["clusters.parquet"], "items_table": data["items_table"]},
        output={"names": out["names.parquet"], "usage": out["usage.json"]},
        params={
            "llm": {"backend": "heuristic"},
            "domain": "movie",
            "cache": str(tmp_path / "cache.sqlite"),
            "task": {"top_k": 3, "max_tokens": 32},
        },
    )
    names = pd.read_parquet(out["names.parquet"])
    assert names["cluster"].tolist() == [0, 1] and names["name"].is_unique
    verl_out = {k: str(tmp_path / "verl" / f"{k}.parquet") for k in ("train", "val", "test")}
    run_script(
        "isir_prompts",
        tmp_path,
        input={
            **data,
            "clusters": out["clusters.parquet"],
            "names": out["names.parquet"],
        },
        output={**verl_out, "stats": str(tmp_path / "verl" / "prompt_stats.json"),
                "prompt_lengths": str(tmp_path / "verl" / "prompt_lengths.json")},
        params={"domain": "movie", "tokenizer": str(tmp_path / "base_model"), "rating_scale": None,
                "isir": {"max_history": 2, "pos_threshold": 4}},
    )
    test = pd.read_parquet(verl_out["test"])
    assert test["sample_id"].tolist() == ["u1:4"] and test["reward_model"].iloc[0]["ground_truth"] == "4"
    assert len(pd.read_parquet(verl_out["train"])) == 2 and len(pd.read_parquet(verl_out["val"])) == 2
    stats = read_json(tmp_path / "verl" / "prompt_stats.json")
    assert stats["prompt_lengths"]["n"] == 1 and stats["config"]["max_history"] == 2
    assert stats["prompt_lengths"]["full"]["mean_tokens"] > stats["prompt_lengths"]["compact"]["mean_tokens"]
    assert read_json(tmp_path / "verl" / "prompt_lengths.json") == stats["prompt_lengths"]  # the cost figure
    assert "verl rows" in (tmp_path / "isir_prompts.log").read_text()


def test_fixture_test_prompts_end_with_the_valid_event(movies_fixture_built):
    items = pd.read_parquet(movies_fixture_built / "items.parquet")
    interactions = pd.read_parquet(movies_fixture_built / "interactions.parquet")
    samples = pd.read_parquet(movies_fixture_built / "splits.parquet")
    prompts = build_prompts(items, interactions, samples, None, PromptConfig("movie", max_history=10))
    assert prompts["sample_id"].tolist() == samples["sample_id"].tolist()
    assert prompts["n_history"].max() == 10 and (prompts["n_history"] >= 1).all()
    lines = {r["item_id"]: r for r in items.to_dict("records")}
    valid = samples[samples["split"] == "valid"].set_index("user_id")
    test = prompts[prompts["split"] == "test"]
    for user, text in zip(test["user_id"], test["user"]):
        shown = text.split("\n\nThe candidate movie")[0].split("\n")
        target = valid.loc[user]
        assert shown[-1] == f"{item_line(lines[target['item_id']])}, {rating_text(target['rating'])}"


def test_a_movielens_dataset_gives_verl_rows_with_half_star_labels(tmp_path):
    """Any dataset with explicit ratings feeds the chain: MovieLens through its adapter, half stars kept."""
    from recforge.data import load_dataset

    ratings = tmp_path / "ratings.csv"
    ratings.write_text(
        "userId,movieId,rating,timestamp\n"
        + "".join(f"1,{m},{r},{t}\n" for t, (m, r) in enumerate([(10, 4.0), (20, 2.5), (30, 5.0), (40, 3.5)]))
        + "".join(f"2,{m},{r},{t}\n" for t, (m, r) in enumerate([(20, 1.0), (40, 4.5), (10, 0.5), (30, 3.0)])),
        encoding="utf-8",
    )
    movies = tmp_path / "movies.csv"
    movies.write_text(
        "movieId,title,genres\n10,Heat (1995),Action|Crime\n20,Toy Story (1995),Animation\n"
        "30,Alien (1979),Horror|Sci-Fi\n40,Clueless (1995),Comedy\n",
        encoding="utf-8",
    )
    ds = load_dataset("movielens", {"ratings": str(ratings), "movies": str(movies)})
    clusters = pd.DataFrame({"item_id": ["10", "20", "30", "40"], "cluster": [0, 1, 0, 1]})
    names = pd.DataFrame({"cluster": [0, 1], "name": ["Tension", "Light fare"]})
    splits, _ = prepare_verl_data(
        ds.items, ds.interactions, ds.samples, clusters, names, None, dataset="ML", domain="movie"
    )
    # leave-one-out: user 1 is tested on Clueless (3.5), user 2 on Alien (3.0)
    test = splits["test"].set_index("sample_id")
    truths = sorted(test["reward_model"].map(lambda r: r["ground_truth"]))
    assert truths == ["3", "3.5"]
    user1 = next(p for p in test["prompt"] if "Clueless" in p[1]["content"])[1]["content"]
    # user 1's sketch: Tension 2 liked (4.0, 5.0), Light fare 1 disliked (2.5); the target is not in it
    assert "- Tension" in user1 and "dislike for the following movie topics (ratings ≤ 3):\n- Light fare" in user1
    assert "Toy Story (1995), Animation, 2.5" in user1
    assert (splits["train"]["data_source"] == "recforge/ML").all()


def test_half_star_prompts_state_the_datasets_scale(tables):
    from recforge.data.scale import RatingScale

    items, interactions, samples = tables
    half = RatingScale(0.5, 5.0, 0.5)
    prompts = build_prompts(items, interactions, samples, None, PromptConfig("movie", scale=half))
    row = prompts.set_index("sample_id").loc["u1:4"]
    assert "Ratings range from 0.5 to 5.0.\n\n" in row["user"] and "1.0 to 5.0" not in row["user"]
    assert "(from 0.5 to 5.0)" in row["system"] and "between 0.5 and 5.0**" in row["system"]
    assert row["system"] == system_prompt("movie", half)
    # the LLM layer's renderer (the SFT traces' prompt) says the same
    context = {"domain": "movie", "sketch": "", "history": [], "target": item_info(items.iloc[0]),
               "rating": None, "max_history": 0, "rating_scale": half.as_dict()}
    assert render("rating_cot", context)[0]["content"] == row["system"]
    rows = verl_rows(prompts, "ML", half)
    assert rows["reward_model"].iloc[0]["rating_scale"] == {"min": 0.5, "max": 5.0, "step": 0.5}


def test_integer_scale_prompts_are_byte_identical_to_the_fixed_1_to_5_text(movies_fixture_built):
    """Measured Movies numbers depend on these bytes: the prompts of the Movies fixture (1-5, whole
    stars) hash as they did when the template said "1.0 to 5.0" literally."""
    import hashlib

    tables = {n: pd.read_parquet(movies_fixture_built / f"{n}.parquet") for n in ("items", "interactions", "splits")}
    ids = sorted(tables["items"]["item_id"].astype(str))
    clusters = pd.DataFrame({"item_id": ids, "cluster": [i % 3 for i in range(len(ids))]})
    names = pd.DataFrame({"cluster": [0, 1, 2], "name": ["Space", "Crime", "Family"]})
    splits, stats = prepare_verl_data(
        tables["items"], tables["interactions"], tables["splits"], clusters, names, None, dataset="Movies",
        domain="movie",
    )
    assert stats["rating_scale"] == {"min": 1.0, "max": 5.0, "step": 1.0}
    texts = "\x1e".join(m["content"] for n in ("train", "val", "test") for p in splits[n]["prompt"] for m in p)
    assert hashlib.sha256(texts.encode()).hexdigest() == (
        "af2f448cc6d99fc409d96b53f4ab4ac12b75f2e0900372f65005bb82d31e0fd8"
    )


def test_trace_requests_hide_the_label_so_the_answer_follows_the_evidence(tables):
    """The cold-start traces predict from the prompt's evidence (the SFT keeps those that match the
    label): a trace that explained the known rating taught the tiny teacher the label prior only."""
    from recforge.llm.heuristic import reasoning
    from recforge.llm.types import Sampling
    from recforge.methods.isir.traces import trace_requests
    from recforge.text.outputs import parse_answer

    items, interactions, samples = tables
    clusters = pd.DataFrame({"item_id": list("abcde"), "cluster": [0, 1, 2, 2, 0]})
    names = pd.DataFrame({"cluster": [0, 1, 2], "name": ["Space", "Laughs", "Fear"]})
    requests = trace_requests(items, interactions, samples, clusters, names, "movie", 4.0, 10, Sampling())
    assert len(requests) == len(samples) and all(r.context["rating"] is None for r in requests)
    by_id = {r.request_id: r for r in requests}
    # u2's valid sample (label 5): its history holds one rated event, a 1, so the trace answers 1
    assert parse_answer(reasoning.rating_cot(by_id["u2:2"].context)) == "1"


def test_item_stats_add_the_candidates_reception_without_its_own_rating(tables):
    """methods.isir.item_stats: the candidate line ends with the item's train-phase rating mean and
    count, a train sample's own rating left out; the trace writer sees the same prompt and weighs the
    item's mean against the user's own tendency."""
    from recforge.llm.heuristic import reasoning
    from recforge.llm.types import Sampling
    from recforge.methods.isir.prompts import target_rating_stats
    from recforge.methods.isir.traces import trace_requests
    from recforge.text.items import rating_stats_text
    from recforge.text.outputs import parse_answer

    items, interactions, samples = tables
    stats = dict(zip(samples["sample_id"], target_rating_stats(interactions, samples)))
    # train ratings: a 5 (u1), b 3 (u1) and 1 (u2), c 4.5 (u1; u2's is unrated); e none
    assert stats["u1:1"] == {"n": 1, "mean": 1.0}  # b, train: u1's own 3 left out, u2's 1 stays
    assert stats["u2:2"] == {"n": 1, "mean": 5.0}  # a, valid: every train rating of a counts
    assert stats["u1:4"]["n"] == 0  # e: nobody rated it in train
    assert rating_stats_text({"n": 8, "mean": 4.25}) == "; rated 4.2 on average by 8 other users"
    assert rating_stats_text({"n": 1, "mean": 5.0}) == "; rated 5.0 on average by 1 other user"
    assert rating_stats_text({"n": 0, "mean": float("nan")}) == "; not rated by other users yet"

    reception = target_rating_stats(interactions, samples)
    prompts = build_prompts(items, interactions, samples, None, PromptConfig("movie"), reception)
    plain = build_prompts(items, interactions, samples, None, PromptConfig("movie"))
    user = prompts.set_index("sample_id")["user"]
    assert "described as: Alien, Movies & TV|Sci-Fi; rated 5.0 on average by 1 other user\n" in user["u2:2"]
    assert user["u1:4"] == plain.set_index("sample_id").loc["u1:4", "user"].replace(
        "Aliens, Sci-Fi\n", "Aliens, Sci-Fi; not rated by other users yet\n")
    with pytest.raises(ValueError, match="target_stats has 1 rows for 7 samples"):
        build_prompts(items, interactions, samples, None, PromptConfig("movie"), reception[:1])

    # The trace writer's candidate line is the policy's (sketches aside), and its estimate averages the user's and the item's.
    clusters = pd.DataFrame({"item_id": list("abcde"), "cluster": [0, 1, 2, 2, 0]})
    names = pd.DataFrame({"cluster": [0, 1, 2], "name": ["Space", "Laughs", "Fear"]})
    requests = {r.request_id: r for r in trace_requests(items, interactions, samples, clusters, names, "movie",
                                                       4.0, 10, Sampling(), max_categories=None, item_stats=True)}
    traced = render("rating_cot", requests["u2:2"].context)[1]["content"]
    assert traced.endswith(user["u2:2"].split("\n\n")[-1]) and "other user" in traced
    # u2's only earlier rating is a 1, other users gave a 5: (1 + 5) / 2 = 3
    trace = reasoning.rating_cot(requests["u2:2"].context)
    assert "Other users rated it 5.0 on average (1 ratings)." in trace and parse_answer(trace) == "3"
