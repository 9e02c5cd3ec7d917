"""RQ-KMeans: exact recovery of a residual structure, tiny catalogues, determinism, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from recforge.sid import fit_rqkmeans, residual_kmeans


@pytest.fixture(autouse=True)
def one_thread():
    import faiss
    import torch

    faiss.omp_set_num_threads(1)
    torch.set_num_threads(1)


def two_level_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x = A[i] + B[j] for 4 far-apart centres A and 4 small offsets B: 16 points that residual
    k-means with 4 codes per level must reconstruct exactly."""
    centres = np.array([[100, 0, 0], [0, 100, 0], [0, 0, 100], [100, 100, 100]], dtype=np.float32)
    offsets = np.array([[1, 0, 0], [0, 2, 0], [0, 0, -1], [-1, -1, 0]], dtype=np.float32)
    i, j = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    return centres[i.ravel()] + offsets[j.ravel()], i.ravel(), j.ravel()


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """a and b label the items identically up to renaming the labels."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_two_level_dataset_is_reconstructed_exactly():
    x, i, j = two_level_data()
    books, codes = residual_kmeans(x, levels=2, codebook_size=4, seed=0, niter=20)
    assert same_partition(codes[:, 0], i) and same_partition(codes[:, 1], j)
    np.testing.assert_allclose(books.decode(codes), x, atol=1e-4)
    np.testing.assert_array_equal(books.encode(x), codes)

    sids = fit_rqkmeans(x, [f"item{k}" for k in range(16)], levels=2, codebook_size=4, seed=0, niter=20)
    assert sids.codes.dtype == np.int64 and sids.codes.shape == (16, 2)
    assert len(np.unique(sids.codes, axis=0)) == 16
    np.testing.assert_array_equal(sids.codes, sids.raw_codes)  # nothing collided
    r = sids.report
    assert r["collision_rate_raw"] == 0.0 and r["collision_rate"] == 0.0
    assert r["reconstruction_mse"] < 1e-8 and r["utilisation"] == [1.0, 1.0]
    assert r["perplexity"] == pytest.approx([4.0, 4.0])
    assert r["quantiser"] == "rqkmeans" and r["wall_s"] >= 0


def test_fewer_items_than_codes_caps_the_codebook():
    x = np.random.default_rng(0).normal(size=(10, 8)).astype(np.float32)
    sids = fit_rqkmeans(x, [str(k) for k in range(10)], levels=2, codebook_size=256, seed=0, niter=5)
    assert sids.report["settings"]["effective_codebook_sizes"] == [10, 10]
    assert len(np.unique(sids.codes, axis=0)) == 10
    # Utilisation is against the requested size: 10 items can use at most 10 of 256 codes.
    assert all(u <= 10 / 256 for u in sids.report["utilisation"])


def test_same_seed_same_codes_and_collisions_are_resolved():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 12)).astype(np.float32)
    ids = [f"i{k}" for k in range(300)]
    a = fit_rqkmeans(x, ids, levels=2, codebook_size=32, seed=3, niter=10)
    b = fit_rqkmeans(x, ids, levels=2, codebook_size=32, seed=3, niter=10)
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.report["collision_rate_raw"] > 0  # 300 random points in 32 x 32 cells do collide
    assert a.report["collision_rate"] == 0.0 and len(np.unique(a.codes, axis=0)) == 300
    appended = fit_rqkmeans(x, ids, levels=2, codebook_size=32, seed=3, niter=10, resolve="append")
    assert appended.codes.shape == (300, 3)
    np.testing.assert_array_equal(appended.codes[:, :2], a.raw_codes)


@pytest.mark.parametrize(
    "vectors, ids, message",
    [
        (np.array([[0.0, 1.0], [np.nan, 1.0]], dtype=np.float32), ["a", "b"], "NaN"),
        (np.array([[0.0, 1.0], [np.inf, 1.0]], dtype=np.float32), ["a", "b"], "NaN/inf"),
        (np.zeros((3, 2), dtype=np.float32), ["a", "b"], "same length"),
        (np.zeros((2, 2), dtype=np.float32), ["a", "a"], "unique"),
        (np.zeros(4, dtype=np.float32), ["a"] * 4, "2-D"),
    ],
)
def test_bad_input_raises_a_clear_value_error(vectors, ids, message):
    with pytest.raises(ValueError, match=message):
        fit_rqkmeans(vectors, ids, levels=2, codebook_size=4)


def test_bad_shape_raises():
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="levels"):
        fit_rqkmeans(x, list("abcd"), levels=0)
    with pytest.raises(ValueError, match="unknown collision resolution"):
        fit_rqkmeans(np.eye(4, dtype=np.float32), list("abcd"), levels=1, codebook_size=4, resolve="sinkhorn")


def test_balanced_levels_spread_items_over_the_codes():
    from recforge.sid.kmeans import balanced_kmeans, kmeans, nearest
    from recforge.sid.report import perplexity

    rng = np.random.default_rng(0)
    # a dense blob of 48 points and 16 spread ones: plain k-means gives the blob one code
    x = np.concatenate([rng.normal(size=(48, 2)) * 0.3, rng.normal(size=(16, 2)) * 3]).astype(np.float32)
    plain = nearest(x, kmeans(x, 4, seed=0, niter=20))
    _, balanced = balanced_kmeans(x, 4, seed=0, niter=20)
    assert np.bincount(plain, minlength=4).max() >= 40
    assert np.bincount(balanced, minlength=4).max() <= 24  # 16 would be perfect balance
    assert perplexity(balanced) > perplexity(plain) + 1.0
    ids = [str(k) for k in range(64)]
    sids = fit_rqkmeans(x, ids, levels=2, codebook_size=4, seed=0, balanced=True, resolve="append")
    assert sids.report["settings"]["balanced"] is True
    np.testing.assert_array_equal(sids.raw_codes[:, 0], balanced)  # level 0 is exactly that clustering
