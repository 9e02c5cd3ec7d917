"""The exact item trie: every token-sequence prefix of a real catalogue item, and nothing else.

OneRec-Think's evaluation "trie" is a (position, previous token) bigram table, so it can generate
SIDs that no item has (seed notes 002, 1.6); RecLM's is a Python tree of node objects (seed notes
001, B.4), which costs hundreds of bytes per node. This one is exact and stored as a handful of
flat arrays, so 100k items of 4 SID tokens (about 250k nodes) take a few MB and build in well under
a second, and the logits processor can walk it for all beams at once with `searchsorted`.

Layout (n nodes, root = 0, numbered in depth-first preorder):
- edges sorted by (parent, token): `edge_keys[e] = parent * stride + token` (sorted, so a transition
  is one binary search), `child_tokens[e]`, `child_nodes[e]`; `child_offsets[p]:child_offsets[p+1]`
  are the edges out of node p (its children, by increasing token id).
- `term_offsets[v]:term_offsets[v+1]` index `term_items`, the rows of the items whose sequence ends
  at node v (several when items share a sequence: a SID collision or a duplicate title).
- `subtree_end[v]`: preorder makes v's subtree the node range [v, subtree_end[v]); with
  `terminals_before[v]` (terminal nodes numbered below v) this counts the items under any node in
  O(1), which is how the processor prunes branches whose items were all generated already.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

TABLES = (
    "edge_keys",
    "child_tokens",
    "child_nodes",
    "child_offsets",
    "term_offsets",
    "term_items",
    "subtree_end",
    "terminals_before",
)


class ItemTrie:
    """Prefix tree over item token sequences (SID tokens or title tokens). Build with `ItemTrie.build`."""

    def __init__(self, item_ids: Sequence[str], max_length: int, stride: int, **tables: np.ndarray):
        missing = set(TABLES) - set(tables)
        if missing:
            raise TypeError(f"missing trie tables: {sorted(missing)}")
        self.item_ids = [str(item) for item in item_ids]  # plain str, also from numpy/pandas
        self.max_length = max_length  # the longest item sequence, in tokens
        self.stride = stride  # 1 + the largest token id in the trie: edge key = parent * stride + token
        for name in TABLES:
            setattr(self, name, tables[name])
        self._device_tables: dict[str, Any] = {}

    # ------------------------------------------------------------------ build

    @classmethod
    def build(cls, sequences: Sequence[Sequence[int]], item_ids: Sequence[str]) -> "ItemTrie":
        """One trie over `sequences[i]` (the token ids of item `item_ids[i]`). Vectorised: sort the
        sequences lexicographically; a row then creates one node per depth past its longest common
        prefix with the row before it, and preorder numbering falls out of the sorted order."""
        if len(sequences) != len(item_ids):
            raise ValueError(f"{len(sequences)} sequences but {len(item_ids)} item ids")
        if len(sequences) == 0:
            raise ValueError("an item trie needs at least one item")
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        if (lengths == 0).any():
            first = item_ids[int(np.argmin(lengths))]
            raise ValueError(f"item {first!r} has an empty token sequence")
        n_items, width = len(sequences), int(lengths.max())
        flat = np.fromiter(chain.from_iterable(sequences), dtype=np.int64, count=int(lengths.sum()))
        if (flat < 0).any():
            raise ValueError("token ids must be non-negative")
        # Padded matrix, -1 past each end: -1 sorts first, so a sequence comes right before the
        # sequences it is a prefix of, which is what preorder needs.
        padded = np.full((n_items, width), -1, dtype=np.int64)
        starts = np.cumsum(lengths) - lengths
        rows = np.repeat(np.arange(n_items), lengths)
        padded[rows, np.arange(flat.size) - np.repeat(starts, lengths)] = flat
        order = np.lexsort(padded.T[::-1])  # np.lexsort's primary key is the last one given
        padded, lengths = padded[order], lengths[order]

        # Longest common prefix with the previous row (identical rows: the full width, no new node).
        differs = padded[1:] != padded[:-1]
        lcp = np.concatenate(([0], np.where(differs.any(axis=1), differs.argmax(axis=1), width)))
        depth = np.arange(width)
        created = (depth >= lcp[:, None]) & (depth < lengths[:, None])
        n_nodes = 1 + int(created.sum())
        node_at = np.zeros((n_items, width), dtype=np.int64)
        node_at[created] = np.arange(1, n_nodes)  # row-major order of (row, depth) = preorder
        # A row shares the nodes above its lcp with the last row that created them; node ids grow
        # down each column, so a running maximum fills them in.
        node_at = np.maximum.accumulate(node_at, axis=0)
        parent_at = np.concatenate((np.zeros((n_items, 1), dtype=np.int64), node_at[:, :-1]), axis=1)
        node_token = padded[created]  # node 1.. in order
        node_parent = parent_at[created]
        node_depth = np.broadcast_to(depth, created.shape)[created]

        stride = int(flat.max()) + 1
        edges = np.lexsort((node_token, node_parent))  # by parent, then token
        child_nodes = edges + 1
        edge_keys = node_parent[edges] * stride + node_token[edges]
        child_offsets = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(node_parent, minlength=n_nodes), out=child_offsets[1:])

        terminal = node_at[np.arange(n_items), lengths - 1]
        by_terminal = np.lexsort((order, terminal))  # items of one node in input order
        term_items = order[by_terminal]
        term_offsets = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(terminal, minlength=n_nodes), out=term_offsets[1:])

        # Subtree sizes, deepest level first (one vectorised pass per depth).
        size = np.ones(n_nodes, dtype=np.int64)
        for d in range(width - 1, -1, -1):
            at = np.flatnonzero(node_depth == d) + 1
            np.add.at(size, node_parent[at - 1], size[at])
        is_terminal = term_offsets[1:] > term_offsets[:-1]
        terminals_before = np.concatenate(([0], np.cumsum(is_terminal)))

        small = np.int32 if max(n_nodes, n_items, stride) < 2**31 - 1 else np.int64
        return cls(
            item_ids=item_ids,
            max_length=width,
            stride=stride,
            edge_keys=edge_keys,
            child_tokens=node_token[edges].astype(small),
            child_nodes=child_nodes.astype(small),
            child_offsets=child_offsets,
            term_offsets=term_offsets,
            term_items=term_items.astype(small),
            subtree_end=(np.arange(n_nodes) + size).astype(small),
            terminals_before=terminals_before,
        )

    # ------------------------------------------------------------------ queries

    @property
    def num_nodes(self) -> int:
        return len(self.child_offsets) - 1

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def num_terminals(self) -> int:
        """Distinct complete sequences (fewer than items when items share a sequence)."""
        return int(self.terminals_before[-1])

    @property
    def nbytes(self) -> int:
        """Bytes of the flat tables (not counting the item id strings)."""
        return sum(getattr(self, name).nbytes for name in TABLES)

    def child(self, node: int, token: int) -> int | None:
        if not 0 <= token < self.stride:
            return None
        key = node * self.stride + token
        at = int(np.searchsorted(self.edge_keys, key))
        if at < len(self.edge_keys) and self.edge_keys[at] == key:
            return int(self.child_nodes[at])
        return None

    def node(self, prefix: Sequence[int]) -> int | None:
        """The node reached by `prefix` from the root, or None when no item starts with it."""
        node: int | None = 0
        for token in prefix:
            node = self.child(node, int(token))
            if node is None:
                return None
        return node

    def next_tokens(self, prefix: Sequence[int]) -> list[int]:
        """Token ids that extend `prefix` towards at least one item, ascending ([] off the trie or at
        a leaf). Whether `prefix` is itself a complete item is `lookup`'s question."""
        node = self.node(prefix)
        if node is None:
            return []
        return self.child_tokens[self.child_offsets[node] : self.child_offsets[node + 1]].tolist()

    def lookup(self, sequence: Sequence[int]) -> list[str]:
        """The items whose token sequence is exactly `sequence`, in build order ([] if none)."""
        node = self.node(sequence)
        if node is None:
            return []
        rows = self.term_items[self.term_offsets[node] : self.term_offsets[node + 1]]
        return [self.item_ids[r] for r in rows]

    def sequences(self) -> list[tuple[int, ...]]:
        """Every distinct complete sequence, in preorder (lexicographic order)."""
        out, path = [], []
        tokens, parents = self._node_tokens_and_parents()
        for v in range(1, self.num_nodes):
            while path and path[-1][0] != parents[v]:
                path.pop()
            path.append((v, int(tokens[v])))
            if self.term_offsets[v + 1] > self.term_offsets[v]:
                out.append(tuple(t for _, t in path))
        return out

    def same_length(self) -> bool:
        """True when every item sequence has max_length tokens (every SID trie: collision resolution
        keeps the length fixed). Depths by preorder: a parent's id is below its children's."""
        _, parents = self._node_tokens_and_parents()
        depth = np.zeros(self.num_nodes, dtype=np.int64)
        for _ in range(self.max_length):
            depth[1:] = depth[parents[1:]] + 1
        terminal = np.diff(self.term_offsets) > 0
        return bool(np.all(depth[terminal] == self.max_length))

    def _node_tokens_and_parents(self) -> tuple[np.ndarray, np.ndarray]:
        tokens = np.zeros(self.num_nodes, dtype=np.int64)
        parents = np.zeros(self.num_nodes, dtype=np.int64)
        tokens[self.child_nodes] = self.child_tokens
        parents[self.child_nodes] = self.edge_keys // self.stride
        return tokens, parents

    def tensors(self, device: Any) -> dict[str, Any]:
        """The tables as int64 torch tensors on `device`, converted once per device and cached (a
        processor is built per batch; the trie outlives it)."""
        import torch

        key = str(device)
        if key not in self._device_tables:
            tables = {name: torch.as_tensor(getattr(self, name), dtype=torch.int64) for name in TABLES}
            self._device_tables[key] = {name: t.to(device) for name, t in tables.items()}
        return self._device_tables[key]

    def __repr__(self) -> str:
        return (
            f"ItemTrie({self.num_items} items, {self.num_terminals} sequences, {self.num_nodes} nodes, "
            f"max length {self.max_length})"
        )
