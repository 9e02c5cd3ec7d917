"""ItemTrie: exact prefixes of real items only, complete sequences map to their items."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from recforge.decode import ItemTrie

# Hand-built catalogue: shared prefixes (5 1 ...), an item that is a prefix of others (5 1), a
# collision (items a and e share 5 1 2), a one-token item, and a long one.
SEQUENCES = [[5, 1, 2], [5, 1], [5, 3], [7], [5, 1, 2], [2, 9, 9, 9], [5, 1, 4]]
ITEMS = ["a", "b", "c", "d", "e", "f", "g"]


@pytest.fixture(scope="module")
def trie() -> ItemTrie:
    return ItemTrie.build(SEQUENCES, ITEMS)


def test_next_tokens_at_every_prefix(trie):
    expected = {
        (): [2, 5, 7],
        (5,): [1, 3],
        (5, 1): [2, 4],
        (5, 1, 2): [],
        (5, 1, 4): [],
        (5, 3): [],
        (7,): [],
        (2,): [9],
        (2, 9): [9],
        (2, 9, 9): [9],
        (2, 9, 9, 9): [],
    }
    for prefix, tokens in expected.items():
        assert trie.next_tokens(prefix) == tokens, prefix
    # Off the trie: nothing, whatever follows.
    for prefix in [(1,), (5, 2), (7, 7), (2, 9, 9, 9, 9), (5, 1, 2, 0), (10**6,)]:
        assert trie.next_tokens(prefix) == [], prefix
        assert trie.lookup(prefix) == [], prefix


def test_lookup_exact_sequences_only(trie):
    assert trie.lookup([5, 1, 2]) == ["a", "e"]  # collision: both, in build order
    assert trie.lookup([5, 1]) == ["b"]  # a prefix of other items is still an item
    assert trie.lookup([5, 1, 4]) == ["g"]
    assert trie.lookup([7]) == ["d"]
    assert trie.lookup([2, 9, 9, 9]) == ["f"]
    for partial in ([], [5], [2, 9], [2, 9, 9]):
        assert trie.lookup(partial) == [], partial


def test_sizes_and_sequences(trie):
    assert trie.num_items == 7
    assert trie.num_terminals == 6  # a and e share a sequence
    # Nodes: root, 2, 2-9, 2-9-9, 2-9-9-9, 5, 5-1, 5-1-2, 5-1-4, 5-3, 7.
    assert trie.num_nodes == 11
    assert trie.max_length == 4
    assert trie.sequences() == sorted({tuple(s) for s in SEQUENCES})
    assert trie.nbytes > 0 and "7 items" in repr(trie)


def test_subtree_ranges_count_items(trie):
    """Preorder: a node's subtree is [v, subtree_end[v]); terminals in it = its distinct items."""
    for prefix, n in [((), 6), ((5,), 4), ((5, 1), 3), ((2,), 1), ((7,), 1)]:
        v = trie.node(prefix)
        end = trie.subtree_end[v]
        assert trie.terminals_before[end] - trie.terminals_before[v] == n, prefix


def test_random_catalogue_matches_brute_force():
    rng = random.Random(0)
    sequences = [[rng.randrange(6) for _ in range(rng.randint(1, 4))] for _ in range(300)]
    items = [f"i{i}" for i in range(len(sequences))]
    trie = ItemTrie.build(sequences, items)
    prefixes = {tuple(s[:d]) for s in sequences for d in range(len(s) + 1)}
    for prefix in prefixes | {(0, 0, 0, 0, 0), (5, 5, 5, 5, 5, 5)}:
        longer = [s for s in sequences if len(s) > len(prefix) and tuple(s[: len(prefix)]) == prefix]
        want_next = sorted({s[len(prefix)] for s in longer})
        assert trie.next_tokens(prefix) == want_next, prefix
        assert trie.lookup(prefix) == [i for s, i in zip(sequences, items) if tuple(s) == prefix], prefix
    # Every path of length <= 4 over the alphabet: exactly the real prefixes are on the trie.
    for length in range(1, 5):
        for path in itertools.product(range(6), repeat=length):
            assert (trie.node(path) is not None) == (path in prefixes), path


def test_tables_are_flat_and_small():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, size=(20_000, 4)) + np.arange(4) * 256
    trie = ItemTrie.build(codes.tolist(), [str(i) for i in range(len(codes))])
    assert trie.nbytes < 60 * trie.num_nodes  # tens of bytes per node, not a Python object each
    row = codes[123].tolist()
    assert trie.lookup(row)[0] == "123" or "123" in trie.lookup(row)
    assert trie.next_tokens(row[:3]) == sorted({r[3] for r in codes.tolist() if r[:3] == row[:3]})


def test_bad_input():
    with pytest.raises(ValueError, match="ids"):
        ItemTrie.build([[1]], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        ItemTrie.build([[1], []], ["a", "b"])
    with pytest.raises(ValueError, match="non-negative"):
        ItemTrie.build([[1, -3]], ["a"])
    with pytest.raises(ValueError, match="at least one"):
        ItemTrie.build([], [])
