"""Collision resolution: unique codes, only colliding items move, nearest free code, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from recforge.sid import collision_groups, resolve_collisions

LEVEL0 = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float32)
LEVEL1 = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)


def hand_case():
    """a, b, c share (0, 0); d holds (0, 2); e is alone at (1, 3).
    Errors under (0, 0): a 0, b 0.16, c 0.2125 -> a keeps it. Free under prefix 0: codes 1 and 3.
    b->1 0.36, b->3 1.36, c->1 1.0125, c->3 1.1125: greedy gives b->1 (cheapest), then c->3."""
    codes = np.array([[0, 0], [0, 0], [0, 0], [0, 2], [1, 3]])
    vectors = np.array([[0, 0], [0.4, 0], [0.1, 0.45], [0, 1], [11, 11]], dtype=np.float32)
    return codes, vectors


def test_reassign_moves_colliders_to_the_nearest_free_code():
    codes, vectors = hand_case()
    out = resolve_collisions(codes, "reassign", vectors=vectors, codebooks=[LEVEL0, LEVEL1])
    np.testing.assert_array_equal(out, [[0, 0], [0, 1], [0, 3], [0, 2], [1, 3]])
    np.testing.assert_array_equal(codes, [[0, 0], [0, 0], [0, 0], [0, 2], [1, 3]])  # input untouched


def test_append_numbers_each_group_best_reconstructed_first():
    codes, vectors = hand_case()
    out = resolve_collisions(codes, "append", vectors=vectors, codebooks=[LEVEL0, LEVEL1])
    np.testing.assert_array_equal(out, [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 2, 0], [1, 3, 0]])


def test_without_costs_the_lowest_row_keeps_and_movers_take_the_lowest_free_codes():
    codes, _ = hand_case()
    out = resolve_collisions(codes, codebook_size=4)
    np.testing.assert_array_equal(out, [[0, 0], [0, 1], [0, 3], [0, 2], [1, 3]])


def test_a_full_prefix_moves_the_overflow_one_level_up():
    # Prefix 0 has 2 last-level codes for 3 items: one item must leave it, to the free (1, 1).
    codes = np.array([[0, 0], [0, 0], [0, 1], [1, 0]])
    out = resolve_collisions(codes, codebook_size=2)
    assert len(np.unique(out, axis=0)) == 4
    np.testing.assert_array_equal(out[[0, 2, 3]], codes[[0, 2, 3]])
    np.testing.assert_array_equal(out[1], [1, 1])


def test_random_codes_become_unique_and_only_colliding_items_change():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 8, size=(400, 3))
    codes[:12, :2] = 0  # one prefix with more items (12) than last-level codes (8)
    vectors = rng.normal(size=(400, 5)).astype(np.float32)
    books = [rng.normal(size=(8, 5)).astype(np.float32) for _ in range(3)]
    groups = collision_groups(codes)
    assert len(groups) > 20  # 400 items in 512 cells
    colliding = np.zeros(400, dtype=bool)
    colliding[np.concatenate(groups)] = True
    for method in ("reassign", "append"):
        out = resolve_collisions(codes, method, vectors=vectors, codebooks=books)
        assert len(np.unique(out, axis=0)) == 400
        np.testing.assert_array_equal(out[~colliding, :3], codes[~colliding])
        for g in groups:
            if method == "reassign":  # exactly one member keeps the original code
                assert (out[g] == codes[g]).all(axis=1).sum() == 1
            else:  # all keep it and the new level tells them apart
                assert sorted(out[g, 3]) == list(range(len(g)))
    out = resolve_collisions(codes, vectors=vectors, codebooks=books)
    _, inverse, counts = np.unique(codes[:, :2], axis=0, return_inverse=True, return_counts=True)
    room = counts[inverse.reshape(-1)] <= 8
    assert (out[room, :2] == codes[room, :2]).all()  # prefixes kept wherever they have room
    full = (codes[:, :2] == 0).all(axis=1)
    assert full.sum() > 8 and (out[full, :2] != 0).any(axis=1).sum() == full.sum() - 8  # sheds its overflow


def test_impossible_or_bad_requests_raise():
    with pytest.raises(ValueError, match="only 4 distinct codes"):
        resolve_collisions(np.zeros((5, 2), dtype=int), codebook_size=2)
    with pytest.raises(ValueError, match="unknown collision resolution"):
        resolve_collisions(np.zeros((2, 1), dtype=int), "tiger", codebook_size=2)
    with pytest.raises(ValueError, match="codebook_size"):
        resolve_collisions(np.zeros((2, 1), dtype=int))
    with pytest.raises(ValueError, match="exceed"):
        resolve_collisions(np.array([[0], [5]]), codebook_size=4)
    # append always succeeds, even past the capacity of the configured levels
    out = resolve_collisions(np.zeros((5, 2), dtype=int), "append", codebook_size=2)
    np.testing.assert_array_equal(out[:, 2], np.arange(5))
