"""A transformers LogitsProcessor that lets beam search produce only real catalogue items.

One processor, two modes, the same trie:
- "sid": the prompt ends with `<|sid_begin|>`; the generated tokens are one item's SID tokens, then
  `end_token_id` (`<|sid_end|>`), then EOS. Every generated token is constrained.
- "title" (RecLM-uni, seed notes 001 B.4): free text until the model emits `item_start_id` (`<SOI>`);
  from there only continuations of real titles, and the closing marker once the title is complete,
  then free text again, so one answer can list several items. As in RecLM, an item already listed in
  the same answer is pruned: a branch whose items were all generated is closed, so an answer cannot
  repeat an item. Only items opened in the generated text count: a prompt must not end inside an
  open `<SOI>` (an assistant prefill ends before it or after its `<EOI>`).

Exact whatever the caller does: a row's state is a function of its own generated tokens only. Beam
search reorders rows between steps without telling the processor how, so each call matches its rows
to the previous call's rows (a hash lookup confirmed by comparing the tokens) and applies just the new
token: one vectorised trie transition for all rows (batch x beams) at once. Rows without a confirmed
match (the first call, another batch) replay all their generated tokens the same way, one position
at a time. The allowed tokens are then scattered into a (rows, vocab) mask, with no loop over rows or
vocabulary. Masking only (disallowed -> -inf, allowed scores untouched) is what transformers'
PrefixConstrainedLogitsProcessor does, so both give the same beams (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from transformers import LogitsProcessor

from recforge.decode.trie import ItemTrie

MODES = ("sid", "title")

# Row states besides a trie node id (>= 0).
OUTSIDE = -1  # title mode, between items: free text
LOST = -2  # fell off the trie (only a -inf candidate can get there): end it
CLOSED = -3  # SID mode after the closing token, or after EOS: only EOS


class TrieLogitsProcessor(LogitsProcessor):
    """Mask the scores of every token that would not continue a real item.

    Args:
        trie: the catalogue's item trie.
        prompt_length: length of the (left-padded) prompt; only tokens after it are generated ones.
        end_token_id: the token that closes an item (`<|sid_end|>` in SID mode, `<EOI>` in title
            mode). It is allowed exactly when the tokens since the item opened form a complete item,
            and forced when that item has no longer continuation.
        mode: "sid" or "title" (see the module docstring).
        item_start_id: title mode: the token that opens an item (`<SOI>`). None in SID mode, where
            the item opens at `prompt_length`.
        item_end_id: title mode's name for the closing marker; optional, and if given it must equal
            `end_token_id` (one token closes an item in both modes).
        eos_token_id: the end of the answer (int or several ids). Forced after an item in SID mode;
            never allowed inside an item in title mode.
        prune_generated: title mode: close branches whose items were all listed already in this
            answer (RecLM's duplicate pruning). SID mode generates one item, so it never applies.
        excluded: title mode with prune_generated: per prompt, trie item rows (indices into
            `trie.item_ids`) that count as listed from the start, so they can never be generated
            (a recommender's history exclusion). Row r of the scores belongs to prompt
            r // num_beams, the order of transformers' beam search and greedy search.
        num_beams: rows per prompt (only used with `excluded`).
        min_items: title mode: the answer may end (EOS) only after this many items were closed in
            the generated text, or once every item is listed. 0: whenever the model ends it. A
            request for k items can so be held to k: a small model trained on answers of 1..k items
            stops after a few whatever count the prompt asks for.
    """

    def __init__(
        self,
        trie: ItemTrie,
        prompt_length: int,
        end_token_id: int,
        mode: str = "sid",
        item_start_id: int | None = None,
        item_end_id: int | None = None,
        *,
        eos_token_id: int | Sequence[int],
        prune_generated: bool = True,
        excluded: Sequence[Sequence[int]] | None = None,
        num_beams: int = 1,
        min_items: int = 0,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if item_end_id is not None and item_end_id != end_token_id:
            raise ValueError(f"item_end_id {item_end_id} differs from end_token_id {end_token_id}")
        if mode == "title" and item_start_id is None:
            raise ValueError("title mode needs item_start_id (the <SOI> token id)")
        if mode == "sid" and item_start_id is not None:
            raise ValueError("SID mode opens the item at prompt_length; item_start_id must be None")
        if prompt_length < 0:
            raise ValueError(f"prompt_length must be >= 0, got {prompt_length}")
        eos = [int(eos_token_id)] if isinstance(eos_token_id, (int, np.integer)) else [int(e) for e in eos_token_id]
        if not eos:
            raise ValueError("eos_token_id must name at least one token")
        markers = {int(end_token_id), *eos} | ({int(item_start_id)} if item_start_id is not None else set())
        inside = sorted(set(trie.child_tokens[np.isin(trie.child_tokens, sorted(markers))].tolist()))
        if inside:
            # A marker inside an item sequence would make "close" and "continue" ambiguous.
            raise ValueError(f"marker token ids {inside} occur inside item sequences")
        self.trie = trie
        self.prompt_length = int(prompt_length)
        self.end_token_id = int(end_token_id)
        self.mode = mode
        self.item_start_id = None if item_start_id is None else int(item_start_id)
        self.eos_token_ids = eos
        self.prune_generated = prune_generated and mode == "title"
        if excluded is not None and not self.prune_generated:
            raise ValueError("excluded items need title mode with prune_generated")
        self.num_beams = int(num_beams)
        if min_items < 0 or (min_items and mode != "title"):
            raise ValueError(f"min_items must be >= 0 and needs title mode, got {min_items} in {mode} mode")
        self.min_items = int(min_items)
        self._excluded = None if excluded is None else _excluded_nodes(trie, excluded)
        self._previous: tuple[torch.Tensor, ...] | None = None  # last call's rows, for resuming
        self._device: tuple[str, dict[str, torch.Tensor]] | None = None
        self.calls = self.replays = 0  # calls, and those that replayed every generated token

    # ------------------------------------------------------------------ state

    def _child(self, t: dict[str, torch.Tensor], node: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
        """Child of each node along each token, or LOST. One binary search for all rows."""
        keys = t["edge_keys"]
        key = node * self.trie.stride + token
        at = torch.searchsorted(keys, key).clamp_(max=keys.numel() - 1)
        found = (keys[at] == key) & (token >= 0) & (token < self.trie.stride)
        return torch.where(found, t["child_nodes"][at], LOST)

    def _step(self, t, state: torch.Tensor, token: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every row's next state after `token`, and the terminal node it just closed (or -1)."""
        node = state.clamp(min=0)
        inside = state >= 0
        is_terminal = t["term_offsets"][node + 1] > t["term_offsets"][node]
        closing = inside & (token == self.end_token_id) & is_terminal
        nxt = torch.where(inside, self._child(t, node, token), state)
        nxt = torch.where(closing, CLOSED if self.mode == "sid" else OUTSIDE, nxt)
        if self.item_start_id is not None:
            nxt = torch.where((state == OUTSIDE) & (token == self.item_start_id), 0, nxt)
        nxt = torch.where(torch.isin(token, t["eos"]), CLOSED, nxt)
        return nxt, torch.where(closing, state, -1)

    def row_states(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(state per row, terminal node closed at each generated position or -1).

        A row's state is a function of its generated tokens only. Beam search extends the previous
        call's rows by one token (reordered, some dropped), so each row is first matched to the
        previous row it extends, by a position-weighted hash checked by exact comparison, and only
        the new token is applied. Without a verified match for every row (first call, another batch),
        all generated tokens are replayed: the result is the same, only slower."""
        t = self._tables(input_ids.device)
        self.calls += 1
        generated = input_ids[:, self.prompt_length :]
        resumed = self._resume(generated)
        if resumed is not None:
            state, completed = resumed
            state, closed = self._step(t, state, generated[:, -1])
            completed = torch.cat((completed, closed[:, None]), dim=1)
        else:
            self.replays += 1
            rows, steps = generated.shape
            start = 0 if self.mode == "sid" else OUTSIDE
            state = torch.full((rows,), start, dtype=torch.long, device=input_ids.device)
            completed = torch.full((rows, steps), -1, dtype=torch.long, device=input_ids.device)
            for j in range(steps):
                state, completed[:, j] = self._step(t, state, generated[:, j])
        self._previous = (generated.clone(), _row_hash(generated), state, completed)
        return state, completed

    def _resume(self, generated: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        if self._previous is None or generated.shape[1] == 0:
            return None
        before, hashes, state, completed = self._previous
        if before.shape[1] != generated.shape[1] - 1 or before.device != generated.device:
            return None
        prefix = generated[:, :-1]
        order = torch.argsort(hashes)
        at = order[torch.searchsorted(hashes[order], _row_hash(prefix)).clamp_(max=len(order) - 1)]
        if not bool((before[at] == prefix).all()):
            return None
        return state[at], completed[at]

    def _tables(self, device) -> dict[str, torch.Tensor]:
        """The trie's tables on `device` plus this processor's EOS ids."""
        if self._device is None or self._device[0] != str(device):
            eos = torch.tensor(self.eos_token_ids, dtype=torch.long, device=device)
            self._device = (str(device), {**self.trie.tensors(device), "eos": eos})
        return self._device[1]

    # ------------------------------------------------------------------ mask

    def blocked_mask(self, input_ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
        """Boolean (rows, vocab): True where a token may NOT come next."""
        if self.trie.stride > vocab_size:
            raise ValueError(f"trie token ids reach {self.trie.stride - 1} but the vocabulary has {vocab_size}")
        t = self._tables(input_ids.device)
        state, completed = self.row_states(input_ids)
        rows = state.shape[0]
        device = input_ids.device
        blocked = torch.ones((rows, vocab_size), dtype=torch.bool, device=device)
        listed = (completed >= 0).sum(dim=1)  # items closed in the generated text
        if self._excluded is not None:
            banned = self._excluded.to(device)[torch.arange(rows, device=device) // self.num_beams]
            completed = torch.cat((banned, completed), dim=1)
        done = _distinct(completed) if self.prune_generated and bool((completed >= 0).any()) else None

        outside = state == OUTSIDE
        if bool(outside.any()):
            blocked[outside] = False
            blocked[outside, self.end_token_id] = True  # no closing marker without an open item
            if done is not None:
                exhausted = outside & ((done >= 0).sum(dim=1) >= self.trie.num_terminals)
                blocked[exhausted, self.item_start_id] = True  # every item is listed: open no more
            else:
                exhausted = torch.zeros_like(outside)
            if self.min_items:
                short = outside & (listed < self.min_items) & ~exhausted
                blocked[short.nonzero()[:, :1], t["eos"][None, :]] = True

        n_allowed = torch.zeros(rows, dtype=torch.long, device=device)
        span = torch.nonzero(state >= 0).squeeze(1)
        if span.numel():
            nodes = state[span]
            first = t["child_offsets"][nodes]
            counts = t["child_offsets"][nodes + 1] - first
            # All (row, outgoing edge) pairs at once: edge ids first..first+count-1 for each row.
            pair_row = span.repeat_interleave(counts)
            shift = (first - torch.cumsum(counts, 0) + counts).repeat_interleave(counts)
            edge = torch.arange(pair_row.numel(), device=device) + shift
            closable = t["term_offsets"][nodes + 1] > t["term_offsets"][nodes]
            if done is not None:
                keep = ~_all_listed(t, t["child_nodes"][edge], done[pair_row])
                pair_row, edge = pair_row[keep], edge[keep]
                closable &= ~(done[span] == nodes[:, None]).any(dim=1)
            blocked[pair_row, t["child_tokens"][edge]] = False
            blocked[span[closable], self.end_token_id] = False
            n_allowed.index_add_(0, pair_row, torch.ones_like(pair_row))
            n_allowed[span] += closable.long()

        # Rows that must end: after the item (SID), off the trie, or an item with nothing left.
        end = (state < OUTSIDE) | ((state >= 0) & (n_allowed == 0))
        if bool(end.any()):
            blocked[end] = True
            blocked[end.nonzero()[:, :1], t["eos"][None, :]] = False
        return blocked

    def allowed_mask(self, input_ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
        """Boolean (rows, vocab): True where a token may come next."""
        return ~self.blocked_mask(input_ids, vocab_size)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return scores.masked_fill(self.blocked_mask(input_ids, scores.shape[-1]), float("-inf"))


_PRIME, _BASE = 2_147_483_647, 1_000_003


@lru_cache(maxsize=64)
def _hash_weights(length: int, device: str) -> torch.Tensor:
    return torch.tensor([pow(_BASE, j, _PRIME) for j in range(length)], dtype=torch.long, device=device)


def _row_hash(tokens: torch.Tensor) -> torch.Tensor:
    """A position-weighted polynomial hash of each row, mod a prime below 2**31 so that no int64
    product overflows. Only a lookup key: matches are always confirmed by comparing the tokens."""
    weights = _hash_weights(tokens.shape[1], str(tokens.device))
    return (((tokens + 1) % _PRIME) * weights % _PRIME).sum(dim=1) % _PRIME


def _excluded_nodes(trie: ItemTrie, excluded: Sequence[Sequence[int]]) -> torch.Tensor:
    """(prompts, width) terminal nodes of each prompt's excluded item rows, -1 padded."""
    node_of_row = np.empty(trie.num_items, dtype=np.int64)
    node_of_row[trie.term_items] = np.repeat(np.arange(trie.num_nodes), np.diff(trie.term_offsets))
    width = max([len(rows) for rows in excluded] + [1])
    out = np.full((len(excluded), width), -1, dtype=np.int64)
    for n, rows in enumerate(excluded):
        if len(rows):
            out[n, : len(rows)] = node_of_row[np.asarray(list(rows), dtype=np.int64)]
    return torch.from_numpy(out)


def _distinct(completed: torch.Tensor) -> torch.Tensor:
    """Each row's completed terminal nodes, sorted, repeats replaced by -1."""
    ordered, _ = torch.sort(completed, dim=1)
    repeat = torch.zeros_like(ordered, dtype=torch.bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    return ordered.masked_fill(repeat, -1)


def _all_listed(t: dict[str, torch.Tensor], child: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
    """For each (child node, that row's listed terminals): are all items under the child listed?
    Preorder makes the subtree a node range, so it is two comparisons and a count."""
    end = t["subtree_end"][child]
    listed = ((done >= child[:, None]) & (done < end[:, None])).sum(dim=1)
    return listed >= t["terminals_before"][end] - t["terminals_before"][child]
