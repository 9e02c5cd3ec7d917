"""The shipped datasets: exact published counts and split invariants (Movies, Beauty, Industrial)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from recforge.data import load_dataset, read_dataset
from recforge.data.adapters.llm4rec import split_title_categories


@pytest.fixture(scope="module")
def movies(resources_data):
    return load_dataset("llm4rec", {"path": str(resources_data / "movies_llm4rec")})


@pytest.fixture(scope="module")
def beauty(resources_data):
    root = resources_data / "beauty"
    return load_dataset("sequential_txt", {"sequences": str(root / "Beauty.txt"), "items": str(root / "items.jsonl")})


@pytest.fixture(scope="module")
def industrial(industrial_options):
    return load_dataset("minionerec", industrial_options)


def _split_counts(samples: pd.DataFrame) -> dict[str, int]:
    return samples["split"].value_counts().reindex(["train", "valid", "test"], fill_value=0).to_dict()


def test_movies_published_counts(movies, check_split):
    inter, samples = movies.interactions, movies.samples
    assert inter["user_id"].nunique() == 2629
    assert len(movies.items) == 10874 and movies.items["item_id"].is_unique
    assert _split_counts(samples) == {"train": 22097, "valid": 2629, "test": 2629}
    assert len(inter) == 22097 + 3 * 2629 + 2 * 2629 == 35242
    assert inter["timestamp"].isna().sum() == 3 * 2629  # the first 3 history items of every user
    assert (inter.loc[inter["position"] < 3, "timestamp"].isna()).all()
    assert samples.loc[samples["split"] == "train", "user_id"].nunique() == 2047
    assert inter["rating"].value_counts().to_dict() == {5.0: 14708, 3.0: 8950, 4.0: 4265, 2.0: 3793, 1.0: 3526}
    check_split(inter, samples)


def test_movies_published_rows_map_to_positions(movies, resources_data):
    """Train row k of a user is the sample at position k+3; valid/test follow the whole history."""
    import gzip

    with gzip.open(resources_data / "movies_llm4rec" / "train.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    train = pd.DataFrame(rows)
    train["position"] = train.groupby("user_id").cumcount() + 3
    got = movies.samples[movies.samples["split"] == "train"].merge(train, on=["user_id", "position"])
    assert len(got) == 22097
    assert (got["item_id"] == got["parent_asin"]).all() and (got["rating"] == got["label"]).all()
    ev = movies.interactions.merge(train, on=["user_id", "position"], suffixes=("", "_row"))
    assert len(ev) == 22097 and (ev["timestamp"] == ev["timestamp_row"]).all()
    with gzip.open(resources_data / "movies_llm4rec" / "history.jsonl.gz", "rt") as fh:
        hist_len = {r["user_id"]: len(r["history_asins"]) for r in map(json.loads, fh)}
    vt = movies.samples[movies.samples["split"] != "train"]
    expected = vt["user_id"].map(hist_len) + (vt["split"] == "test").astype(int)
    assert (vt["position"] == expected).all()


def test_movies_item_text(movies):
    items = movies.items.set_index("item_id")
    hobbit = items.loc["B00BWJ6JO4"]
    assert hobbit["title"] == "The Hobbit: An Unexpected Journey"
    assert list(hobbit["categories"]) == ["Drama", "Action", "Ambitious", "Exciting"]
    assert hobbit["text"] == "The Hobbit: An Unexpected Journey; Drama > Action > Ambitious > Exciting"
    # "Arts, Entertainment, and Culture" is one category (a naive last-", " split breaks it)
    bohemian = items.loc["B07K2KJQB9"]
    assert bohemian["title"] == "Bohemian Rhapsody"
    assert "Arts, Entertainment, and Culture" in list(bohemian["categories"])
    assert (items["title"] != "").all()
    assert (items["description"] == "").all() and (items["brand"] == "").all()


@pytest.mark.parametrize(("text", "title", "cats"), [
    ("Monsters, Inc., Animation|Comedy", "Monsters, Inc.", ["Animation", "Comedy"]),
    ("A | B, Movies & TV|Featured", "A | B", ["Movies & TV", "Featured"]),
    ("Saturday Night Fever, Arts, Entertainment, and Culture|Drama", "Saturday Night Fever",
     ["Arts, Entertainment, and Culture", "Drama"]),
    ("Safe Haven, ", "Safe Haven", []),
    ("Veep, Comedy", "Veep", ["Comedy"]),
    ("NoComma", "NoComma", []),
])
def test_split_title_categories(text, title, cats):
    assert split_title_categories(text, {"Arts, Entertainment, and Culture", "Comedy"}) == (title, cats)


def test_movies_fixture_counts(movies_fixture_built, check_split):
    ds = read_dataset(movies_fixture_built)
    assert ds.interactions["user_id"].nunique() == 300
    assert _split_counts(ds.samples) == {"train": 1938, "valid": 300, "test": 300}
    assert len(ds.interactions) == 1938 + 5 * 300 == 3438
    assert len(ds.items) == 2730
    report = json.loads((movies_fixture_built / "data_report.json").read_text())
    assert report["split_kind"] == "published"
    assert report["counts"]["samples"] == {"train": 1938, "valid": 300, "test": 300}
    assert not (movies_fixture_built / "quarantine.jsonl").exists()
    check_split(ds.interactions, ds.samples)


def test_beauty_counts(beauty, check_split):
    inter, samples, items = beauty.interactions, beauty.samples, beauty.items
    assert inter["user_id"].nunique() == 22363
    assert len(items) == 12101 and inter["item_id"].nunique() == 12101
    assert len(inter) == 198502
    assert (inter["split"] == "train").sum() == 153776
    assert _split_counts(samples) == {"train": 153776 - 22363, "valid": 22363, "test": 22363}
    assert inter["rating"].isna().all() and inter["timestamp"].isna().all()
    assert (items["title"] == "").sum() == 7
    assert set(items.loc[items["title"] == "", "item_id"]) == {"7410", "495", "2015", "9178", "5336", "1454", "7406"}
    first = items.set_index("item_id").loc["1"]
    assert first["brand"] == "OPI" and list(first["categories"]) == ["Makeup", "Nails", "Nail Polish"]
    no_brand = items.set_index("item_id").loc["4"]
    assert no_brand["brand"] == "" and list(no_brand["categories"])[0] == "Makeup"
    assert not items["brand"].str.contains("&#39;").any()
    assert beauty.quarantine.repaired["placeholder brand 'Unknown' blanked"] == 20
    # users 1 and 2 from the file: "1 1 2 3 4 5" / "2 6 7 8 9 10 4 11"
    u1 = inter[inter["user_id"] == "1"]
    assert u1["item_id"].tolist() == ["1", "2", "3", "4", "5"]
    assert u1["split"].tolist() == ["train", "train", "train", "valid", "test"]
    check_split(inter, samples)


def test_industrial_counts(industrial, check_split):
    inter, samples, items = industrial.interactions, industrial.samples, industrial.items
    assert len(items) == 3686
    assert inter["user_id"].nunique() == 3285
    assert len(inter) == 22743
    assert _split_counts(samples) == {"train": 10393, "valid": 4532, "test": 4533}
    assert samples.loc[samples["split"] == "valid", "user_id"].nunique() == 2011
    assert samples.loc[samples["split"] == "test", "user_id"].nunique() == 1987
    assert industrial.report["notes"]["sequence_conflicts"] == 0
    # 3,457 non-empty upstream strings, 3 of which are "['', ' ']"
    assert (items["description"] != "").sum() == 3454
    assert not items["description"].str.startswith("['").any()
    check_split(inter, samples)
