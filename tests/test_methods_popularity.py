import pandas as pd

from recforge.methods import popularity
from recforge.methods._common import loo_frames


def _frames():
    # train counts: a 3, b 2, c 2, d 1 ; valid/test events must not count
    seqs = {
        "u1": ["a", "b", "c", "z", "z"],
        "u2": ["a", "b", "y", "y"],
        "u3": ["a", "c", "d", "q", "q"],
    }
    return loo_frames(seqs)


def test_counts_use_train_only_and_break_ties_by_id():
    inter, _ = _frames()
    counts = popularity.item_counts(inter)
    assert counts.index.tolist() == ["a", "b", "c", "d"]
    assert counts.tolist() == [3, 2, 2, 1]


def test_history_excluded_by_default():
    inter, samples = _frames()
    out = popularity.predict(inter, samples, k=3).set_index("sample_id")
    assert list(out.columns) == ["split", "items", "scores"]
    assert out.loc["u1:3", "items"] == ["d"]  # a, b, c in history; only d left
    assert out.loc["u2:2", "items"] == ["c", "d"]
    assert out.loc["u2:2", "scores"] == [2.0, 1.0]
    # u2's test history includes its valid target y (not a train item) and a, b
    assert out.loc["u2:3", "items"] == ["c", "d"]
    assert out.loc["u2:3", "split"] == "test"


def test_without_exclusion_everyone_gets_the_same_list():
    inter, samples = _frames()
    out = popularity.predict(inter, samples, k=3, exclude_history=False)
    assert all(items == ["a", "b", "c"] for items in out["items"])
    assert len(out) == 6


def test_splits_argument():
    inter, samples = _frames()
    out = popularity.predict(inter, samples, splits=("test",))
    assert set(out["split"]) == {"test"} and len(out) == 3


def _valid_references():
    """benchmarks/valid_references.py as a module (benchmarks/ is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "valid_references.py"
    spec = importlib.util.spec_from_file_location("valid_references", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_recent_counts_use_each_users_last_train_events_only():
    """benchmarks/valid_references.py: u1's last train event is c, u2's b, u3's d (train: a b c / a b /
    a c d); with 2 per user: b c / a b / c d, so c 2, b 2, a 1, d 1 (ties by id)."""
    module = _valid_references()
    inter, _ = _frames()
    assert module.recent_counts(inter, 1).index.tolist() == ["b", "c", "d"]
    assert module.recent_counts(inter, 2).index.tolist() == ["b", "c", "a", "d"]
    assert module.recent_counts(inter, 2).tolist() == [2, 2, 1, 1]


def test_the_benchmarks_label_counts_count_train_labels_only():
    """Train labels [x y] [y z] [y] and a valid row's [x x x]: outputs y 3, x 1, z 1; targets x 1, y 2."""
    module = _valid_references()
    samples = pd.DataFrame({"split": ["train", "train", "train", "valid"], "target": ["x", "y", "y", "x"],
                            "outputs": [["x", "y"], ["y", "z"], ["y"], ["x", "x", "x"]]})
    outputs = module.label_counts(samples, "outputs")
    assert outputs.index.tolist() == ["y", "x", "z"] and outputs.tolist() == [3, 1, 1]
    targets = module.label_counts(samples, "target")
    assert targets.index.tolist() == ["y", "x"] and targets.tolist() == [2, 1]
