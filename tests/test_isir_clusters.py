"""isir topic clusters (faiss k-means) and their LLM names through recforge.llm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recforge.embed.items import ItemEmbeddings
from recforge.io import read_json
from recforge.llm import LLMSettings
from recforge.llm.heuristic import WRITERS
from recforge.settings import typed
from recforge.methods.isir.cluster_names import (
    ClusterNameConfig,
    clean_theme,
    cluster_name_requests,
    dedupe_names,
    name_clusters,
)
from recforge.methods.isir.clusters import ClusterConfig, cluster_members, item_clusters, kmeans_clusters

GENRES = ("Space Opera", "Romantic Comedy", "Slasher Horror")


def blobs(per_blob: int = 10, dim: int = 8, seed: int = 0) -> tuple[ItemEmbeddings, dict[str, int]]:
    """Three tight, well-separated blobs of unit vectors; item ids say their blob."""
    rng = np.random.default_rng(seed)
    centers = np.eye(dim, dtype=np.float32)[:3] * 10
    ids, vectors, blob_of = [], [], {}
    for b, center in enumerate(centers):
        for j in range(per_blob):
            item = f"b{b}_{j:02d}"
            ids.append(item)
            vectors.append(center + rng.normal(scale=0.5, size=dim))
            blob_of[item] = b
    order = rng.permutation(len(ids))  # not grouped by blob
    return ItemEmbeddings([ids[i] for i in order], np.asarray(vectors, np.float32)[order]), blob_of


def test_three_blobs_give_three_clusters_ranked_by_distance():
    embeddings, blob_of = blobs()
    table = kmeans_clusters(embeddings, ClusterConfig(n_clusters=3, niter=20, nredo=3, seed=1))
    assert list(table.columns) == ["item_id", "cluster", "distance", "rank_in_cluster"]
    assert table["cluster"].dtype == np.int64 and table["rank_in_cluster"].dtype == np.int64
    assert table["distance"].dtype == np.float64
    assert sorted(table["item_id"]) == sorted(embeddings.item_ids)
    # each blob is exactly one cluster
    pairs = {(blob_of[i], c) for i, c in zip(table["item_id"], table["cluster"])}
    assert len(pairs) == 3 and {c for _, c in pairs} == {0, 1, 2}
    unit = embeddings.vectors / np.linalg.norm(embeddings.vectors, axis=1, keepdims=True)
    rows = {item: unit[k] for k, item in enumerate(embeddings.item_ids)}
    for cluster, group in table.groupby("cluster"):
        assert group["rank_in_cluster"].tolist() == list(range(len(group)))
        assert group["distance"].is_monotonic_increasing
        # the centroid is its members' mean (k-means fixed point); distance is the squared L2 to it
        members = np.stack([rows[i] for i in group["item_id"]])
        centroid = members.mean(axis=0)
        np.testing.assert_allclose(
            group["distance"], ((members - centroid) ** 2).sum(axis=1), rtol=1e-3, atol=1e-5
        )
    top = cluster_members(table, top_k=4)
    assert set(top) == {0, 1, 2} and all(len(v) == 4 for v in top.values())
    for cluster, ids in top.items():
        group = table[table["cluster"] == cluster].sort_values("distance")
        assert ids == group["item_id"].head(4).tolist()
    assert item_clusters(table)[top[0][0]] == 0
    # the same seed gives the same table
    again = kmeans_clusters(embeddings, ClusterConfig(n_clusters=3, niter=20, nredo=3, seed=1))
    pd.testing.assert_frame_equal(table, again)


def test_k_is_capped_by_the_number_of_items():
    embeddings = ItemEmbeddings(["x", "y"], np.asarray([[1, 0, 0], [0, 1, 0]], np.float32))
    table = kmeans_clusters(embeddings, ClusterConfig(n_clusters=20, niter=5, nredo=1))
    assert sorted(table["cluster"]) == [0, 1] and (table["rank_in_cluster"] == 0).all()
    with pytest.raises(ValueError, match=r"methods.isir.clusters: unknown ClusterConfig keys \['top_k'\]"):
        typed(ClusterConfig, {"n_clusters": 4, "top_k": 9}, "methods.isir.clusters")


def test_duplicate_names_get_the_papers_suffixes():
    assert dedupe_names(["A", "B", "A", "C", "A"]) == ["A_0", "B", "A_1", "C", "A_2"]
    assert dedupe_names(["A", "B"]) == ["A", "B"]
    assert (
        clean_theme("Thinking...\n- Theme: **Space operas & galactic wars**")
        == "Space operas & galactic wars"
    )
    assert clean_theme('- Theme: ["Cosy mysteries"]') == "Cosy mysteries"
    assert clean_theme("no phrase here") is None and clean_theme("Theme: **") is None


@pytest.fixture
def named_catalogue() -> tuple[pd.DataFrame, pd.DataFrame]:
    embeddings, blob_of = blobs(per_blob=6)
    table = kmeans_clusters(embeddings, ClusterConfig(n_clusters=3, niter=20, nredo=3, seed=1))
    items = pd.DataFrame(
        {
            "item_id": embeddings.item_ids,
            "title": [f"{GENRES[blob_of[i]].split()[0]} Story {i}" for i in embeddings.item_ids],
            "categories": [["Movies & TV", GENRES[blob_of[i]]] for i in embeddings.item_ids],
        }
    )
    return table, items


def test_cluster_names_with_the_heuristic_backend_end_to_end(named_catalogue, tmp_path):
    table, items = named_catalogue
    config = ClusterNameConfig(domain="movie", top_k=4)
    requests = cluster_name_requests(table, items, config)
    assert [r.request_id for r in requests] == ["0", "1", "2"]
    assert all(len(r.context["items"]) == 4 for r in requests)
    assert "- Theme: [phrase]" in requests[0].messages[-1]["content"]
    paths = dict(
        cache_path=tmp_path / "cache.sqlite",
        out_path=tmp_path / "names.parquet",
        usage_path=tmp_path / "usage.json",
    )
    names = name_clusters(table, items, config, LLMSettings(), **paths)
    assert names["cluster"].tolist() == [0, 1, 2] and names["parsed"].all()
    assert names["error"].isna().all() and (names["backend"] == "heuristic").all()
    assert names["template"].iloc[0].startswith("cluster_name@v")
    # the heuristic names each cluster after its genre
    genre_of = {c: GENRES[int(i[1])] for c, i in zip(table["cluster"], table["item_id"])}
    for cluster, name in zip(names["cluster"], names["name"]):
        assert genre_of[cluster] in name
    assert pd.read_parquet(paths["out_path"])["name"].tolist() == names["name"].tolist()
    usage = read_json(paths["usage_path"])
    assert usage["requests"] == 3 and usage["unparsed_names"] == 0 and usage["stage"] == "isir_cluster_names"
    # a rerun is served from the cache
    name_clusters(table, items, config, LLMSettings(), **paths)
    assert read_json(paths["usage_path"])["from_cache"] == 3


def test_unparsed_names_fall_back_and_duplicates_are_suffixed(named_catalogue, tmp_path, monkeypatch):
    table, items = named_catalogue
    members = cluster_members(table, 1)
    slasher = next(c for c, ids in members.items() if ids[0].startswith("b2"))

    def writer(ctx):
        return "I cannot say." if ctx["items"][0]["item_id"].startswith("b2") else "- Theme: Feel-good films"

    monkeypatch.setitem(WRITERS, "cluster_name", writer)
    names = name_clusters(
        table,
        items,
        ClusterNameConfig(domain="movie", top_k=3),
        LLMSettings(),
        tmp_path / "cache.sqlite",
        tmp_path / "names.parquet",
        tmp_path / "usage.json",
    )
    by_cluster = dict(zip(names["cluster"], names["name"]))
    assert by_cluster[slasher] == f"Topic_{slasher}"
    assert sorted(n for c, n in by_cluster.items() if c != slasher) == [
        "Feel-good films_0",
        "Feel-good films_1",
    ]
    assert (
        names["parsed"].sum() == 2 and names.loc[names["cluster"] == slasher, "raw"].item() == "I cannot say."
    )
    usage = read_json(tmp_path / "usage.json")
    assert usage["unparsed_names"] == 1 and usage["duplicate_names"] == 1
