"""Shared pytest fixtures: data-layer paths, the built Movies fixture, and synthetic source files."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "resources" / "data"
MOVIES_FIXTURE = REPO / "tests" / "data" / "movies_fixture"
INDUSTRIAL_CSV = "{}.Industrial_and_Scientific_5_2016-10-2018-11.csv"


@pytest.fixture(scope="session")
def movies_fixture_dir() -> Path:
    """The 300-user LLM4Rec Movies fixture (raw upstream formats)."""
    return MOVIES_FIXTURE


@pytest.fixture(scope="session")
def resources_data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def industrial_options() -> dict:
    root = DATA / "industrial"
    return {"items": str(root / "Industrial_and_Scientific.item.json"),
            "valid": str(root / INDUSTRIAL_CSV.format("valid")),
            "test": str(root / INDUSTRIAL_CSV.format("test"))}


@pytest.fixture(scope="session")
def movies_fixture_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture built once per session with build_dataset (results dir with the canonical tables)."""
    from recforge.data import build_dataset

    out = tmp_path_factory.mktemp("movies_fixture_built")
    build_dataset("llm4rec", {"path": str(MOVIES_FIXTURE)}, out, name="MoviesFixture")
    return out


def _write_jsonl(path: Path, rows: list, gz: bool | None = None) -> Path:
    lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    if gz if gz is not None else path.name.endswith(".gz"):
        # mtime=0 keeps the bytes reproducible
        with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gzf:
            gzf.write(lines.encode("utf-8"))
    else:
        path.write_text(lines, encoding="utf-8")
    return path


@pytest.fixture
def write_jsonl() -> Callable[..., Path]:
    """write_jsonl(path, rows): rows are dicts (dumped) or raw strings (written as is); .gz -> gzip."""
    return _write_jsonl


def llm4rec_rows(n_hist: tuple[int, ...] = (5, 3, 4)) -> dict[str, list[dict]]:
    """A small, valid LLM4Rec-format data set: users u0.. with the given history lengths."""
    rows: dict[str, list[dict]] = {"history": [], "train": [], "valid": [], "test": []}
    t = 1_600_000_000_000
    for u, n in enumerate(n_hist):
        user = f"u{u}"
        asins = [f"A{u}_{i}" for i in range(n)]
        ratings = [(i % 5) + 1 for i in range(n)]
        lines = [f"Title {a}, Movies & TV|Genre {i % 2}, {r}" for i, (a, r) in enumerate(zip(asins, ratings))]
        rows["history"].append({"user_id": user, "history": "\n".join(lines), "history_asins": asins,
                                "history_ratings": ratings})
        for k in range(n - 3):
            p = k + 3
            rows["train"].append({"user_id": user, "parent_asin": asins[p], "timestamp": t + 1000 * p,
                                  "label": float(ratings[p]), "target": f"Title {asins[p]}, Movies & TV|Genre {p % 2}",
                                  "history": "\n".join(lines[:p])})
        for phase, shift in (("valid", 100), ("test", 200)):
            target = f"Title, with comma {phase}_{u}, Drama|Arts, Entertainment, and Culture"
            rows[phase].append({"user_id": user, "parent_asin": f"{phase}_{u}", "timestamp": t + 1000 * shift,
                                "label": 4.0, "target": target, "history": "\n".join(lines) + "\n"})
    return rows


@pytest.fixture
def llm4rec_dir(tmp_path: Path) -> Callable[..., Path]:
    """llm4rec_dir(edit=None): write a small valid LLM4Rec directory; `edit(rows)` may alter rows first."""

    def make(edit: Callable[[dict[str, list]], None] | None = None) -> Path:
        rows = llm4rec_rows()
        if edit is not None:
            edit(rows)
        root = tmp_path / "llm4rec"
        root.mkdir(exist_ok=True)
        for name, recs in rows.items():
            _write_jsonl(root / f"{name}.jsonl.gz", recs)
        return root

    return make


@pytest.fixture
def amazon2023_files(tmp_path: Path) -> Callable[..., tuple[Path, Path]]:
    """amazon2023_files(reviews, meta=None): write reviews/meta jsonl.gz; default meta covers items i0..i9."""

    def make(reviews: list, meta: list | None = None, gz: bool = True) -> tuple[Path, Path]:
        if meta is None:
            meta = [{"parent_asin": f"i{k}", "title": f"Item {k}", "categories": ["Root", f"Cat {k % 3}"],
                     "description": [f"Paragraph one of {k}.", "Paragraph two."], "features": ["f1", "f2"],
                     "details": {"Brand": f"Brand{k % 2}"} if k % 2 else {}, "store": f"Store{k}"}
                    for k in range(10)]
        ext = ".jsonl.gz" if gz else ".jsonl"
        return (_write_jsonl(tmp_path / f"reviews{ext}", reviews), _write_jsonl(tmp_path / f"meta{ext}", meta))

    return make


def _check_split(interactions, samples) -> None:
    """Assert the contract's split invariants for any dataset (vectorised where it matters)."""
    import numpy as np
    import pandas as pd

    from recforge.data.sequences import histories

    rank = interactions["split"].map({"train": 0, "valid": 1, "test": 2}).to_numpy()
    user = interactions["user_id"].to_numpy()
    same = user[1:] == user[:-1]
    # phases never go backwards along a sequence: no train sample can see a valid/test event and
    # every valid target precedes every test target of the same user
    assert not (same & (rank[1:] < rank[:-1])).any()
    assert np.array_equal(interactions["position"].to_numpy(), interactions.groupby("user_id", sort=False).cumcount())
    first_valid = samples[samples["split"] == "valid"].groupby("user_id")["position"].min()
    last_train = samples[samples["split"] == "train"].groupby("user_id")["position"].max()
    first_test = samples[samples["split"] == "test"].groupby("user_id")["position"].min()
    last_valid = samples[samples["split"] == "valid"].groupby("user_id")["position"].max()
    both = last_valid.index.intersection(first_test.index)
    assert (last_valid[both] < first_test[both]).all()
    both = last_train.index.intersection(first_valid.index)
    assert (last_train[both] < first_valid[both]).all()
    assert samples["sample_id"].is_unique
    assert (samples["position"] >= 1).all()
    # every sample is the event at its (user, position), and its history (events with a smaller
    # position, docs/contracts.md) holds only train events when the sample is a train sample
    first = np.r_[True, ~same]
    start = pd.Series(np.flatnonzero(first), index=user[first])
    row = start.loc[samples["user_id"]].to_numpy() + samples["position"].to_numpy()
    assert (interactions["item_id"].to_numpy()[row] == samples["item_id"].to_numpy()).all()
    assert (interactions["split"].to_numpy()[row] == samples["split"].to_numpy()).all()
    train_rows = row[samples["split"].to_numpy() == "train"]
    max_rank_before = pd.Series(rank).groupby(user).cummax().to_numpy()
    assert (max_rank_before[train_rows] == 0).all()
    # and sequences.histories agrees on a sample of them
    picked = samples.sample(n=min(len(samples), 200), random_state=0)
    users = interactions[interactions["user_id"].isin(set(picked["user_id"]))]
    hist = histories(users, picked)
    seq = users.groupby("user_id")["item_id"].agg(list)
    for sid, u, p in picked[["sample_id", "user_id", "position"]].itertuples(index=False):
        assert hist[sid] == seq[u][:p]


@pytest.fixture
def check_split() -> Callable:
    """check_split(interactions, samples): assert the split invariants of docs/contracts.md."""
    return _check_split
