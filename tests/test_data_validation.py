"""Bad input: every error names the file and line; on_error: quarantine sets rows aside and counts them."""

from __future__ import annotations

import json

import pytest

from recforge.data import DataError, build_dataset, load_dataset
from recforge.data.validate import validate_dataset

T0 = 1_700_000_000_000


def review(user: str, item: str, rating: float, t: int) -> dict:
    return {"user_id": user, "parent_asin": item, "rating": rating, "timestamp": T0 + t}


def good_reviews() -> list:
    return [review(u, f"i{k}", 4.0, 10 * n + k) for n, u in enumerate("abc") for k in range(4)]


def _amazon(amazon2023_files, rows, **extra):
    reviews, meta = amazon2023_files(rows)
    return {"reviews": str(reviews), "meta": str(meta), "user_core": 0, "item_core": 0, **extra}


# --- one test per kind of bad input; each checks file and line in the message -----------------------

def test_corrupt_gzip_in_an_adapter(llm4rec_dir):
    root = llm4rec_dir()
    data = (root / "valid.jsonl.gz").read_bytes()
    (root / "valid.jsonl.gz").write_bytes(data[:-8] + bytes(b ^ 0xFF for b in data[-8:-4]) + data[-4:])
    with pytest.raises(DataError, match=r"valid\.jsonl\.gz:4: corrupt gzip"):
        load_dataset("llm4rec", {"path": str(root)})
    # a damaged stream cannot be quarantined: the rows after the damage are unknown
    with pytest.raises(DataError, match=r"valid\.jsonl\.gz:4: corrupt gzip"):
        load_dataset("llm4rec", {"path": str(root), "on_error": "quarantine"})


def test_truncated_gzip_in_an_adapter(llm4rec_dir):
    root = llm4rec_dir()
    data = (root / "history.jsonl.gz").read_bytes()
    (root / "history.jsonl.gz").write_bytes(data[: len(data) - 12])
    with pytest.raises(DataError, match=r"history\.jsonl\.gz:\d+: truncated gzip"):
        load_dataset("llm4rec", {"path": str(root)})


def test_malformed_json_line(llm4rec_dir):
    root = llm4rec_dir(lambda rows: rows["train"].insert(1, '{"user_id": "u0", oops}'))
    with pytest.raises(DataError, match=r"train\.jsonl\.gz:2: malformed JSON \(Expecting"):
        load_dataset("llm4rec", {"path": str(root)})


def test_missing_required_field(llm4rec_dir):
    root = llm4rec_dir(lambda rows: rows["train"][2].pop("timestamp"))
    with pytest.raises(DataError, match=r"train\.jsonl\.gz:3: missing required field 'timestamp'"):
        load_dataset("llm4rec", {"path": str(root)})


def test_missing_required_field_amazon(amazon2023_files):
    rows = good_reviews()
    rows[4].pop("parent_asin")
    with pytest.raises(DataError, match=r"reviews\.jsonl\.gz:5: missing required field 'parent_asin'"):
        load_dataset("amazon2023", _amazon(amazon2023_files, rows))


def test_unknown_item_id(amazon2023_files, tmp_path, write_jsonl):
    rows = good_reviews()
    rows[6]["parent_asin"] = "NOPE"
    with pytest.raises(DataError, match=r"reviews\.jsonl\.gz:7: unknown item id 'NOPE'"):
        load_dataset("amazon2023", _amazon(amazon2023_files, rows))
    seq = tmp_path / "Beauty.txt"
    seq.write_text("1 1 2 3\n2 1 99 3\n")
    items = write_jsonl(tmp_path / "items.jsonl", [{"item_id": k, "title_norm": f"t{k}", "attributes": []}
                                                  for k in (1, 2, 3)])
    with pytest.raises(DataError, match=r"Beauty\.txt:2: unknown item id '99'"):
        load_dataset("sequential_txt", {"sequences": str(seq), "items": str(items)})


def test_non_utf8_bytes(amazon2023_files):
    reviews, meta = amazon2023_files(good_reviews(), gz=False)
    lines = reviews.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b'"a"', b'"\xe9"')
    reviews.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match=r"reviews\.jsonl:4: not valid utf-8 \(byte 0xe9"):
        load_dataset("amazon2023", {"reviews": str(reviews), "meta": str(meta), "user_core": 0, "item_core": 0})


def test_duplicate_events(amazon2023_files):
    rows = good_reviews()
    rows.insert(5, dict(rows[1]))  # same user, item and timestamp as line 2
    with pytest.raises(DataError, match=r"reviews\.jsonl\.gz:6: duplicate event \(user a, item i1, "
                                        rf"timestamp {T0 + 1}\) first seen at line 2"):
        load_dataset("amazon2023", _amazon(amazon2023_files, rows))


def test_duplicate_events_in_published_split(llm4rec_dir):
    def dup(rows):
        rows["test"][0]["parent_asin"] = rows["valid"][0]["parent_asin"]
        rows["test"][0]["timestamp"] = rows["valid"][0]["timestamp"]

    with pytest.raises(DataError, match=r"test\.jsonl\.gz:1: duplicate event \(user u0, item valid_0"):
        load_dataset("llm4rec", {"path": str(llm4rec_dir(dup))})


def test_empty_history(tmp_path, write_jsonl, amazon2023_files):
    seq = tmp_path / "Beauty.txt"
    seq.write_text("1 1 2 3\n2 1 2\n3 3 2 1\n")
    items = write_jsonl(tmp_path / "items.jsonl", [{"item_id": k, "attributes": []} for k in (1, 2, 3)])
    with pytest.raises(DataError, match=r"Beauty\.txt:2: user 2 has 2 event\(s\); leave-one-out needs at least 3"):
        load_dataset("sequential_txt", {"sequences": str(seq), "items": str(items)})
    rows = good_reviews() + [review("z", "i0", 3.0, 500)]
    with pytest.raises(DataError, match=r"reviews\.jsonl\.gz:13: user z has 1 event\(s\)"):
        load_dataset("amazon2023", _amazon(amazon2023_files, rows))


def test_empty_history_llm4rec_and_minionerec(llm4rec_dir, tmp_path):
    def empty(rows):
        rows["history"][2].update(history="", history_asins=[], history_ratings=[])

    with pytest.raises(DataError, match=r"history\.jsonl\.gz:3: user u2 has an empty history"):
        load_dataset("llm4rec", {"path": str(llm4rec_dir(empty))})
    (tmp_path / "item.json").write_text(json.dumps({"0": {"title": "a"}, "1": {"title": "b"}}))
    header = "user_id,history_item_title,item_title,history_item_id,item_id\n"
    (tmp_path / "v.csv").write_text(header + 'A1,"[]",b,"[0]",1\nA2,"[]",b,"[]",1\n')
    (tmp_path / "t.csv").write_text(header)
    with pytest.raises(DataError, match=r"v\.csv:3: valid row of user A2 has an empty history"):
        load_dataset("minionerec", {"items": str(tmp_path / "item.json"), "valid": str(tmp_path / "v.csv"),
                                    "test": str(tmp_path / "t.csv")})


def test_rating_out_of_range(tmp_path):
    (tmp_path / "ratings.csv").write_text("1,10,4,1\n1,20,7.5,2\n1,10,3,3\n")
    (tmp_path / "movies.csv").write_text("10,A,Drama\n20,B,Drama\n")
    with pytest.raises(DataError, match=r"ratings\.csv:2: rating 7\.5 missing or outside \[0\.5, 5\.0\]"):
        load_dataset("movielens", {"ratings": str(tmp_path / "ratings.csv"), "movies": str(tmp_path / "movies.csv")})



def test_ratings_file_cut_short_is_reported(tmp_path):
    # Issue 13: a file cut inside its last timestamp (978300760 -> 97830) was accepted; the event got a
    # 1970 time and moved to position 0 of its user.
    ratings, movies = tmp_path / "ratings.csv", tmp_path / "movies.csv"
    movies.write_text("10,A,Drama\n20,B,Drama\n30,C,Drama\n40,D,Drama\n")
    rows = "".join(f"{u},{i},4.0,9783007{u}{k}\n" for u in (1, 2) for k, i in enumerate((10, 20, 30)))
    opts = {"ratings": str(ratings), "movies": str(movies)}
    ratings.write_text(rows + "2,40,4.5,97830")
    with pytest.raises(DataError, match=r"ratings\.csv:7: last line has no line ending"):
        load_dataset("movielens", opts)
    # with its line end the row looks complete, but its time is orders of magnitude off the file's
    ratings.write_text(rows + "2,40,4.5,97830\n")
    with pytest.raises(DataError, match=r"ratings\.csv:7: timestamp 97830000 \(1970-01-02\) is over 5x off "
                                        r"the file's median 978300712000 \(2000-12-31\), far outside its spread"):
        load_dataset("movielens", opts)
    ds = load_dataset("movielens", {**opts, "on_error": "quarantine"})
    assert ds.quarantine.quarantined == {"timestamp_outlier": 1}
    assert ds.interactions.loc[ds.interactions["user_id"] == "2", "item_id"].tolist() == ["10", "20", "30"]


def test_timestamp_outliers_are_judged_per_file():
    import pandas as pd

    from recforge.data.validate import timestamp_outliers

    events = pd.DataFrame({
        "timestamp": pd.array([1000, 1100, 0, 1200, 300_000, None, None, 0, 1000, 2000, 3000], dtype="Int64"),
        "_file": ["a"] * 5 + ["b"] * 2 + ["c"] * 4, "_line": range(1, 12)})
    mask, medians = timestamp_outliers(events)
    # in a: zero and 250x the median are outliers; b has no timestamps; c is a counter (0 is within its
    # spread, so no ratio to its median counts)
    assert mask.tolist() == [False, False, True, False, True, False, False, False, False, False, False]
    assert medians == {"a": 1100.0, "c": 1500.0}

# --- quarantine mode ---------------------------------------------------------------------------------

def test_quarantine_writes_rows_and_counts(amazon2023_files, tmp_path):
    rows = good_reviews()
    rows[2]["parent_asin"] = "NOPE"           # line 3: unknown item
    rows.insert(4, dict(rows[3]))             # line 5: duplicate of line 4
    rows.insert(7, "{broken json")            # line 8
    rows[9].pop("timestamp")                  # line 10: missing field
    rows.append(review("c", "i2", 9.0, 999))  # last line: rating out of range
    opts = _amazon(amazon2023_files, rows)
    # default on_error: raise -- reading fails first (line 8), before the row checks run
    with pytest.raises(DataError, match=r"reviews\.jsonl\.gz:8: malformed JSON"):
        build_dataset("amazon2023", opts, tmp_path / "raise")
    assert not (tmp_path / "raise" / "items.parquet").exists()

    out = tmp_path / "q"
    report = build_dataset("amazon2023", {**opts, "on_error": "quarantine"}, out)
    expected = {"bad_rating": 1, "duplicate_event": 1, "malformed_json": 1, "missing_field": 1, "unknown_item": 1}
    assert report["rows"]["quarantined"] == expected
    assert json.loads((out / "data_report.json").read_text())["rows"]["quarantined"] == expected
    recs = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert sorted((r["line"], r["reason"]) for r in recs) == [
        (3, "unknown_item"), (5, "duplicate_event"), (8, "malformed_json"), (10, "missing_field"),
        (len(rows), "bad_rating")]
    by_line = {r["line"]: r for r in recs}
    assert by_line[8]["raw"] == "{broken json"
    assert json.loads(by_line[3]["raw"])["parent_asin"] == "NOPE"  # raw text read back from the file
    assert all(r["file"].endswith("reviews.jsonl.gz") for r in recs)
    assert report["counts"]["interactions"] == len(good_reviews()) - 2  # line 3 and line 10 rows lost


def test_quarantine_file_removed_when_clean(amazon2023_files, tmp_path):
    rows = good_reviews()
    out = tmp_path / "out"
    build_dataset("amazon2023", _amazon(amazon2023_files, rows + ["{bad"], on_error="quarantine"), out)
    assert (out / "quarantine.jsonl").exists()
    build_dataset("amazon2023", _amazon(amazon2023_files, rows, on_error="quarantine"), out)
    assert not (out / "quarantine.jsonl").exists()


def test_quarantine_in_published_split_drops_the_user(llm4rec_dir, tmp_path):
    root = llm4rec_dir(lambda rows: rows["valid"].pop(1))
    with pytest.raises(DataError, match=r"history\.jsonl\.gz:2: user u1 has no valid row"):
        load_dataset("llm4rec", {"path": str(root)})
    ds = load_dataset("llm4rec", {"path": str(root), "on_error": "quarantine"})
    assert set(ds.interactions["user_id"]) == {"u0", "u2"}
    assert ds.quarantine.quarantined == {"published_split_violation": 1}


def test_bad_on_error_value(llm4rec_dir):
    from recforge.data import ConfigError

    with pytest.raises(ConfigError, match="on_error must be one of"):
        load_dataset("llm4rec", {"path": str(llm4rec_dir()), "on_error": "ignore"})


# --- the final contract check ------------------------------------------------------------------------

def test_validate_dataset_catches_broken_tables(llm4rec_dir):
    ds = load_dataset("llm4rec", {"path": str(llm4rec_dir())})
    ds.interactions.loc[2, "item_id"] = "ghost"
    with pytest.raises(DataError, match=r"history\.jsonl\.gz:1: unknown item id 'ghost'"):
        validate_dataset(ds)

    ds = load_dataset("llm4rec", {"path": str(llm4rec_dir())})
    ds.samples.loc[0, "position"] = 0
    ds.samples.loc[0, "sample_id"] = f"{ds.samples.loc[0, 'user_id']}:0"
    with pytest.raises(DataError, match="empty history"):
        validate_dataset(ds)

    ds = load_dataset("llm4rec", {"path": str(llm4rec_dir())})
    last = ds.interactions.index[ds.interactions["user_id"] == "u0"][-1]
    ds.interactions.loc[last, "split"] = "valid"  # test target relabelled: fine order-wise...
    ds.interactions.loc[last - 1, "split"] = "test"  # ...but now test precedes valid
    with pytest.raises(DataError, match="split goes backwards"):
        validate_dataset(ds)


def test_quarantined_train_line_costs_one_sample(llm4rec_dir, tmp_path):
    def garble(rows):
        rows["train"][0] = "{not json"

    report = build_dataset("llm4rec", {"path": str(llm4rec_dir(garble)), "on_error": "quarantine"}, tmp_path)
    assert report["counts"]["samples"] == {"train": 2, "valid": 3, "test": 3}  # 3 published, 1 lost
    # the line itself, and the user's incomplete train rows, both counted
    assert report["rows"]["quarantined"] == {"malformed_json": 1, "published_split_violation": 1}
    assert report["counts"]["interactions"] == 5 + 3 + 4 + 6  # every event kept (from history.jsonl)
