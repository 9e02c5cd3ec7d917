"""Each adapter on small synthetic files in its source format."""

from __future__ import annotations

import pandas as pd
import pytest

from recforge.data import ConfigError, load_dataset
from recforge.data.adapters.minionerec import parse_description
from recforge.data.adapters.sequential_txt import split_brand, top_level_categories

T0 = 1_700_000_000_000  # ms


def review(user: str, item: str, rating: float, t: int) -> dict:
    return {"user_id": user, "parent_asin": item, "rating": rating, "timestamp": T0 + t, "text": "..."}


def _seq(ds, user: str) -> list[tuple[str, str]]:
    ev = ds.interactions[ds.interactions["user_id"] == user]
    return list(zip(ev["item_id"], ev["split"]))


# --- llm4rec ---------------------------------------------------------------------------------------

def test_llm4rec_synthetic(llm4rec_dir, check_split):
    ds = load_dataset("llm4rec", {"path": str(llm4rec_dir())})
    s = ds.samples
    assert s["split"].value_counts().to_dict() == {"train": 2 + 0 + 1, "valid": 3, "test": 3}
    assert _seq(ds, "u0") == [("A0_0", "train"), ("A0_1", "train"), ("A0_2", "train"), ("A0_3", "train"),
                              ("A0_4", "train"), ("valid_0", "valid"), ("test_0", "test")]
    assert s.loc[s["user_id"] == "u0", "sample_id"].tolist() == ["u0:3", "u0:4", "u0:5", "u0:6"]
    items = ds.items.set_index("item_id")
    assert items.loc["valid_1", "title"] == "Title, with comma valid_1"
    assert list(items.loc["valid_1", "categories"]) == ["Drama", "Arts, Entertainment, and Culture"]
    assert items.loc["A0_0", "text"] == "Title A0_0; Movies & TV > Genre 0"
    check_split(ds.interactions, ds.samples)


def test_llm4rec_rejects_rows_breaking_the_k_plus_3_rule(llm4rec_dir):
    def swap(rows):
        t = rows["train"]
        t[0]["parent_asin"], t[1]["parent_asin"] = t[1]["parent_asin"], t[0]["parent_asin"]

    with pytest.raises(Exception, match=r"train\.jsonl\.gz:1: train row 0 of user u0 targets A0_4 but "
                                        r"history_asins\[0\+3\] is A0_3"):
        load_dataset("llm4rec", {"path": str(llm4rec_dir(swap))})


def test_llm4rec_valid_after_test_is_an_error(llm4rec_dir):
    def late_valid(rows):
        rows["valid"][1]["timestamp"] = rows["test"][1]["timestamp"] + 1

    with pytest.raises(Exception, match=r"history\.jsonl\.gz:2: user u1: valid target .* later than test"):
        load_dataset("llm4rec", {"path": str(llm4rec_dir(late_valid))})


# --- amazon2023 ------------------------------------------------------------------------------------

def _amazon_reviews() -> list[dict]:
    rows = []
    # users a..d each rate 5 items at distinct times; d rates i0 twice (repeat), e has 2 events
    for u, user in enumerate("abcd"):
        for k in range(5):
            rows.append(review(user, f"i{(u + k) % 6}", 1 + (k % 5), 1000 * (10 * u + k)))
    rows.append(review("d", "i3", 2.0, 1000 * 99))   # repeat of (d, i3) at a later time
    rows.append(review("e", "i9", 4.0, 5))
    rows.append(review("e", "i0", 4.0, 6))
    return rows


def test_amazon2023_leave_one_out_kcore_dedup(amazon2023_files, check_split):
    reviews, meta = amazon2023_files(_amazon_reviews())
    ds = load_dataset("amazon2023", {"reviews": str(reviews), "meta": str(meta), "user_core": 3, "item_core": 2})
    assert sorted(ds.interactions["user_id"].unique()) == ["a", "b", "c", "d"]  # e fails the 3-core
    assert len(ds.interactions) == 20
    d = ds.interactions[ds.interactions["user_id"] == "d"]
    assert d["item_id"].tolist() == ["i3", "i4", "i5", "i0", "i1"]  # time order; repeat of i3 dropped
    assert d["split"].tolist() == ["train", "train", "train", "valid", "test"]
    assert d["timestamp"].tolist() == [T0 + 30000, T0 + 31000, T0 + 32000, T0 + 33000, T0 + 34000]
    assert ds.samples["split"].value_counts().to_dict() == {"train": 8, "valid": 4, "test": 4}
    assert ds.quarantine.dropped == {"repeat interaction with the same item (dedup=first)": 1,
                                     "kcore (user_core=3, item_core=2)": 2,
                                     "meta item without events (after filtering)": 4}
    items = ds.items.set_index("item_id")
    assert set(items.index) == {f"i{k}" for k in range(6)}
    one = items.loc["i1"]
    assert one["title"] == "Item 1" and list(one["categories"]) == ["Root", "Cat 1"]
    assert one["description"] == "Paragraph one of 1. Paragraph two." and list(one["features"]) == ["f1", "f2"]
    assert one["brand"] == "Brand1"            # details.Brand wins over store
    assert items.loc["i0", "brand"] == "Store0"  # no details.Brand: store
    assert one["text"] == "Item 1; Root > Cat 1; Brand1"
    check_split(ds.interactions, ds.samples)


def test_amazon2023_dedup_last_and_none(amazon2023_files):
    reviews, meta = amazon2023_files(_amazon_reviews(), gz=False)
    base = {"reviews": str(reviews), "meta": str(meta), "user_core": 3, "item_core": 0}
    last = load_dataset("amazon2023", {**base, "dedup": "last"})
    d = last.interactions[last.interactions["user_id"] == "d"]
    assert d["item_id"].tolist()[-1] == "i3" and "i3" not in d["item_id"].tolist()[:-1]
    keep = load_dataset("amazon2023", {**base, "dedup": "none"})
    assert (keep.interactions["user_id"] == "d").sum() == 6
    assert keep.report["notes"]["dedup"] == "none"


def test_amazon2023_temporal_split(amazon2023_files, check_split):
    # 10 events of 3 users in global time order; ratios 0.6/0.2/0.2 -> boundaries at events 6 and 8
    times = {"x": [0, 1, 2, 6], "y": [3, 4, 7, 8], "z": [5, 9]}
    rows = [review(u, f"i{k}", 5.0, t) for u, ts in times.items() for k, t in enumerate(ts)]
    reviews, meta = amazon2023_files(rows)
    ds = load_dataset("amazon2023", {"reviews": str(reviews), "meta": str(meta), "user_core": 0, "item_core": 0,
                                     "split": "temporal", "ratios": [0.6, 0.2, 0.2]})
    assert ds.report["split_kind"] == "temporal"
    info = ds.report["notes"]["temporal"]
    assert info["t_valid_ms"] == T0 + 6 and info["t_test_ms"] == T0 + 8
    assert [s for _, s in _seq(ds, "x")] == ["train", "train", "train", "valid"]
    assert [s for _, s in _seq(ds, "y")] == ["train", "train", "valid", "test"]
    assert [s for _, s in _seq(ds, "z")] == ["train", "test"]
    # every event but each user's first is a sample of its own phase; straddling users keep history
    assert ds.samples["sample_id"].tolist() == ["x:1", "x:2", "x:3", "y:1", "y:2", "y:3", "z:1"]
    assert ds.samples.set_index("sample_id").loc["z:1", "split"] == "test"
    assert info["unsampled_first_events"] == {"train": 3, "valid": 0, "test": 0}
    check_split(ds.interactions, ds.samples)


def test_amazon2023_bad_options(amazon2023_files):
    reviews, meta = amazon2023_files(_amazon_reviews())
    base = {"reviews": str(reviews), "meta": str(meta)}
    with pytest.raises(ConfigError, match="dedup must be one of"):
        load_dataset("amazon2023", {**base, "dedup": "sometimes"})
    with pytest.raises(ConfigError, match="ratios must be three"):
        load_dataset("amazon2023", {**base, "split": "temporal", "ratios": [0.5, 0.5]})
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['user_kore'\]"):
        load_dataset("amazon2023", {**base, "user_kore": 5})
    with pytest.raises(ConfigError, match=r"missing required option\(s\) \['meta'\]"):
        load_dataset("amazon2023", {"reviews": str(reviews)})


# --- movielens -------------------------------------------------------------------------------------

def _ml_rows() -> list[tuple[int, int, float, int]]:
    return [(1, 10, 4.0, 100), (1, 20, 3.5, 101), (1, 30, 5.0, 102), (1, 10, 2.0, 103),
            (2, 20, 1.0, 200), (2, 30, 0.5, 199), (2, 40, 4.0, 201), (2, 10, 3.0, 205)]


def _write_ml_csv(tmp_path, header: bool):
    r = tmp_path / "ratings.csv"
    m = tmp_path / "movies.csv"
    lines = (["userId,movieId,rating,timestamp"] if header else []) + [f"{u},{i},{x},{t}" for u, i, x, t in _ml_rows()]
    r.write_text("\n".join(lines) + "\n", encoding="utf-8")
    movies = (["movieId,title,genres"] if header else []) + [
        '10,"Misérables, Les (1995)",Drama|War', "20,Toy Story (1995),Animation|Children",
        "30,Heat (1995),(no genres listed)", "40,Alien (1979),Horror|Sci-Fi", "50,Unrated (2000),Drama"]
    m.write_text("\n".join(movies) + "\n", encoding="utf-8")
    return r, m


@pytest.mark.parametrize("header", [True, False])
def test_movielens_csv(tmp_path, header, check_split):
    r, m = _write_ml_csv(tmp_path, header)
    ds = load_dataset("movielens", {"ratings": str(r), "movies": str(m)})
    assert _seq(ds, "1") == [("10", "train"), ("20", "valid"), ("30", "test")]  # repeat of 10 dropped
    assert [i for i, _ in _seq(ds, "2")] == ["30", "20", "40", "10"]               # time order, not file order
    assert ds.interactions.loc[ds.interactions["user_id"] == "2", "timestamp"].tolist() == [199000, 200000,
                                                                                          201000, 205000]
    assert ds.interactions["rating"].tolist()[:3] == [4.0, 3.5, 5.0]
    items = ds.items.set_index("item_id")
    assert "50" not in items.index  # no events
    assert items.loc["10", "title"] == "Misérables, Les (1995)"
    assert list(items.loc["10", "categories"]) == ["Drama", "War"] and list(items.loc["30", "categories"]) == []
    assert ds.report["rating_range"] == [0.5, 5.0]
    check_split(ds.interactions, ds.samples)


def test_movielens_dat_latin1(tmp_path, check_split):
    r = tmp_path / "ratings.dat"
    m = tmp_path / "movies.dat"
    lines = (f"{u}::{i}::{int(x) if x >= 1 else 1}::{t}\n" for u, i, x, t in _ml_rows())
    r.write_text("".join(lines), encoding="latin-1")
    m.write_bytes(("10::Misérables, Les (1995)::Drama|War\n20::Toy Story (1995)::Animation\n"
                   "30::Heat (1995)::Action\n40::Alien (1979)::Horror\n").encode("latin-1"))
    ds = load_dataset("movielens", {"ratings": str(r), "movies": str(m), "rating_range": [1, 5]})
    assert ds.items.set_index("item_id").loc["10", "title"] == "Misérables, Les (1995)"
    assert ds.report["notes"]["encoding"] == "latin-1" and ds.report["notes"]["format"] == "dat"
    assert len(ds.interactions) == 7
    check_split(ds.interactions, ds.samples)
    # the same latin-1 file read as UTF-8 is located precisely
    with pytest.raises(Exception, match=r"movies\.dat:1: not valid utf-8"):
        load_dataset("movielens", {"ratings": str(r), "movies": str(m), "encoding": "utf-8"})


def test_movielens_temporal(tmp_path, check_split):
    r, m = _write_ml_csv(tmp_path, True)
    ds = load_dataset("movielens", {"ratings": str(r), "movies": str(m), "split": "temporal",
                                    "ratios": [0.5, 0.25, 0.25], "dedup": "none"})
    assert ds.report["split_kind"] == "temporal"
    check_split(ds.interactions, ds.samples)


# --- sequential_txt --------------------------------------------------------------------------------

def test_sequential_txt_synthetic(tmp_path, write_jsonl, check_split):
    seq = tmp_path / "seq.txt"
    seq.write_text("1 1 2 3 4\n2 3 2 4\n10 4 3 2 1 5\n")
    items = write_jsonl(tmp_path / "items.jsonl", [
        {"item_id": 1, "title": "raw", "title_norm": "One", "attributes": ["Acme", "Skin Care", "Face"]},
        {"item_id": 2, "title_norm": "Two", "attributes": ["Skin Care", "Body"]},
        {"item_id": 3, "title_norm": "", "attributes": ["L&#39;Or", "Makeup"]},
        {"item_id": 4, "title_norm": "Four", "attributes": ["Unknown", "Makeup", "Eyes"]},
        {"item_id": 5, "title_norm": "Five", "attributes": ["Skin Care", "Skin Care", "Face"]},
    ])
    ds = load_dataset("sequential_txt", {"sequences": str(seq), "items": str(items)})
    assert ds.interactions["user_id"].unique().tolist() == ["1", "10", "2"]  # sorted as strings
    assert _seq(ds, "2") == [("3", "train"), ("2", "valid"), ("4", "test")]
    assert ds.samples["split"].value_counts().to_dict() == {"train": 1 + 0 + 2, "valid": 3, "test": 3}
    it = ds.items.set_index("item_id")
    assert (it.loc["1", "brand"], list(it.loc["1", "categories"])) == ("Acme", ["Skin Care", "Face"])
    assert (it.loc["2", "brand"], list(it.loc["2", "categories"])) == ("", ["Skin Care", "Body"])
    assert it.loc["3", "brand"] == "L'Or" and it.loc["3", "text"] == "Makeup; L'Or"
    assert it.loc["4", "brand"] == "" and it.loc["5", "brand"] == "Skin Care"
    assert ds.quarantine.repaired == {"HTML entity unescaped in an attribute": 1,
                                      "placeholder brand 'Unknown' blanked": 1}
    check_split(ds.interactions, ds.samples)


def test_brand_rules():
    lists = [["OPI", "Makeup", "Nails"], ["Makeup", "Eyes"], ["Skin Care", "Skin Care"], ["X", "Skin Care"]]
    roots = top_level_categories(lists)
    assert roots == {"Makeup", "Skin Care"}
    assert [split_brand(a, roots) for a in lists] == [("OPI", ["Makeup", "Nails"]), ("", ["Makeup", "Eyes"]),
                                                      ("Skin Care", ["Skin Care"]), ("X", ["Skin Care"])]


# --- minionerec ------------------------------------------------------------------------------------

def _write_minionerec(tmp_path, valid_rows, test_rows, items=None):
    import json

    items = items or {str(k): {"title": f"T{k}", "description": "['a', 'b']" if k % 2 else "",
                               "brand": f"B{k}" if k != 3 else "", "categories": ""} for k in range(8)}
    (tmp_path / "item.json").write_text(json.dumps(items, indent=2))

    def csv(rows):
        lines = ["user_id,history_item_title,item_title,history_item_id,item_id,history_item_sid,item_sid"]
        lines += [f'{u},"[]",x,"{h}",{t},"[]",s' for u, h, t in rows]
        return "\n".join(lines) + "\n"

    (tmp_path / "valid.csv").write_text(csv(valid_rows))
    (tmp_path / "test.csv").write_text(csv(test_rows))
    return {"items": str(tmp_path / "item.json"), "valid": str(tmp_path / "valid.csv"),
            "test": str(tmp_path / "test.csv")}


def test_minionerec_rebuilds_sequences(tmp_path, check_split):
    opts = _write_minionerec(
        tmp_path,
        valid_rows=[("A1", [0, 1], 2), ("A2", [5], 6), ("A1", [0, 1, 2], 3)],
        test_rows=[("A1", [2, 3], 4), ("A1", [2, 3, 4], 4), ("A3", [7, 1], 0)])
    ds = load_dataset("minionerec", opts)
    assert _seq(ds, "A1") == [("0", "train"), ("1", "train"), ("2", "valid"), ("3", "valid"), ("4", "test"),
                              ("4", "test")]
    assert _seq(ds, "A3") == [("7", "train"), ("1", "train"), ("0", "test")]
    assert ds.samples["sample_id"].tolist() == ["A1:1", "A1:2", "A1:3", "A1:4", "A1:5", "A2:1", "A3:1", "A3:2"]
    assert ds.samples["split"].tolist() == ["train", "valid", "valid", "test", "test", "valid", "train", "test"]
    assert len(ds.items) == 8 and ds.items.set_index("item_id").loc["1", "description"] == "a b"
    assert ds.report["notes"]["sequence_conflicts"] == 0
    check_split(ds.interactions, ds.samples)


def test_minionerec_conflict_located(tmp_path):
    opts = _write_minionerec(tmp_path, valid_rows=[("A1", [0, 1], 2)], test_rows=[("A1", [5, 2], 3)])
    with pytest.raises(Exception, match=r"test\.csv:2: test row of user A1 disagrees"):
        load_dataset("minionerec", opts)
    ds = load_dataset("minionerec", {**opts, "on_error": "quarantine"})
    assert ds.report["notes"]["sequence_conflicts"] == 1
    assert ds.quarantine.quarantined == {"sequence_conflict": 1}


@pytest.mark.parametrize(("raw", "text", "ok"), [
    ("['First.', 'Second.']", "First. Second.", True),
    ("", "", True),
    ("['', ' ']", "", True),
    ("['It's broken', 'x']", "It's broken x", False),
    ("__import__('os').system('echo no')", "__import__('os').system('echo no')", False),
])
def test_parse_description_is_safe(raw, text, ok):
    assert parse_description(raw) == (text, ok)


def test_item_frames_have_contract_types(llm4rec_dir):
    ds = load_dataset("llm4rec", {"path": str(llm4rec_dir())})
    assert list(ds.items.columns) == ["item_id", "title", "categories", "description", "brand", "features", "text"]
    assert all(isinstance(v, list) for v in ds.items["categories"])
    assert str(ds.interactions["timestamp"].dtype) == "Int64"
    assert ds.interactions["position"].dtype == "int64" and ds.samples["rating"].dtype == "float64"
    assert isinstance(ds.samples, pd.DataFrame)


def test_minionerec_directory_and_name(tmp_path, industrial_options, resources_data):
    root = str(resources_data / "industrial")
    by_dir = load_dataset("minionerec", {"path": root, "name": "Industrial_and_Scientific"})
    assert by_dir.report["sources"] == {k: industrial_options[k] for k in ("items", "valid", "test")}
    with pytest.raises(ConfigError, match="needs 'name'"):
        load_dataset("minionerec", {"path": str(resources_data / "industrial")})
    with pytest.raises(ConfigError, match=r"expected one valid\.Nope\*\.csv"):
        load_dataset("minionerec", {"path": str(resources_data / "industrial"), "name": "Nope"})
    with pytest.raises(ConfigError, match=r"give 'path' and 'name', or the files \['test'\]"):
        load_dataset("minionerec", {k: industrial_options[k] for k in ("items", "valid")})
