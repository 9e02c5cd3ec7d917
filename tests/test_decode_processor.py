"""TrieLogitsProcessor masks exactly the disallowed ids, for every row of a batch x beams input."""

from __future__ import annotations

import random

import pytest
import torch

from recforge.decode import ItemTrie, TrieLogitsProcessor

torch.set_num_threads(1)

V = 20  # vocabulary of the hand-built cases
SOI, EOI, EOS = 15, 16, 17  # title markers and end of answer; in SID mode 16 closes the SID
SEQUENCES = [[5, 1, 2], [5, 1], [5, 3], [7], [5, 1, 2], [2, 9, 9, 9], [5, 1, 4]]
ITEMS = ["a", "b", "c", "d", "e", "f", "g"]
PROMPT = [11, 12, 13]  # any prompt; only tokens after it count
ALL = set(range(V))


def reference_allowed(trie, generated, mode, end, eos, start=None, vocab=V, prune=True) -> set[int]:
    """Plain-Python statement of the rules, one row at a time: what the vectorised processor must match."""
    eos = [eos] if isinstance(eos, int) else list(eos)
    items = set(trie.sequences())
    listed: list[tuple[int, ...]] = []
    current: list[int] | None = [] if mode == "sid" else None
    for token in generated:
        if token in eos:
            return set(eos)
        if current is None:  # title mode, free text
            if token == start:
                current = []
        elif token == end and tuple(current) in items:
            if mode == "sid":
                return set(eos)
            listed.append(tuple(current))
            current = None
        else:
            current.append(token)
            if trie.node(current) is None:
                return set(eos)
    if current is None:
        allowed = set(range(vocab)) - {end}
        if prune and items <= set(listed):
            allowed.discard(start)
        return allowed
    prefix = tuple(current)
    open_items = [s for s in items if s[: len(prefix)] == prefix and not (prune and mode == "title" and s in listed)]
    allowed = {s[len(prefix)] for s in open_items if len(s) > len(prefix)}
    if prefix in open_items:
        allowed.add(end)
    return allowed or set(eos)


def batch(rows: list[list[int]]) -> torch.Tensor:
    return torch.tensor([PROMPT + r for r in rows])


def allowed_sets(processor, rows, vocab=V) -> list[set[int]]:
    scores = torch.randn(len(rows), vocab, generator=torch.Generator().manual_seed(0))
    out = processor(batch(rows), scores.clone())
    # Allowed scores pass through unchanged; everything else is -inf.
    finite = torch.isfinite(out)
    assert torch.equal(out[finite], scores[finite])
    assert torch.isneginf(out[~finite]).all()
    return [set(torch.nonzero(r).flatten().tolist()) for r in finite]


@pytest.fixture(scope="module")
def trie():
    return ItemTrie.build(SEQUENCES, ITEMS)


def sid(trie, **kw):
    return TrieLogitsProcessor(trie, prompt_length=len(PROMPT), end_token_id=EOI, mode="sid", eos_token_id=EOS, **kw)


def title(trie, **kw):
    return TrieLogitsProcessor(
        trie, prompt_length=len(PROMPT), end_token_id=EOI, mode="title", item_start_id=SOI, item_end_id=EOI,
        eos_token_id=EOS, **kw,
    )


def test_sid_first_step_allows_the_first_tokens_only(trie):
    assert allowed_sets(sid(trie), [[]] * 6) == [{2, 5, 7}] * 6  # 2 prompts x 3 beams


def test_sid_masks_per_row(trie):
    # 2 prompts x 3 beams, two generated tokens each.
    rows = [[5, 1], [5, 3], [7, EOI], [2, 9], [9, 9], [5, 1]]
    assert allowed_sets(sid(trie), rows) == [
        {2, 4, EOI},  # "5 1" is item b and a prefix of a/e/g: close or go on
        {EOI},  # complete leaf: the closing token is forced
        {EOS},  # after the closing token: EOS is forced
        {9},
        {EOS},  # off the trie (only a -inf candidate gets here): end it
        {2, 4, EOI},
    ]
    rows = [[5, 1, 2], [5, 1, EOI], [2, 9, 9], [5, 3, EOI], [7, EOI, EOS], [5, 1, 4]]
    assert allowed_sets(sid(trie), rows) == [{EOI}, {EOS}, {9}, {EOS}, {EOS}, {EOI}]


def test_title_free_text_outside_items(trie):
    rows = [
        [11, 12, 11, 12],  # free text: anything but a stray closing marker
        [11, SOI, 5, 1],  # inside an item: trie continuations, or close "5 1"
        [SOI, 5, 1, EOI],  # item b closed: free text again
        [SOI, 5, 1, 2],  # complete leaf: close
        [SOI, 7, EOI, SOI],  # d listed: its branch is pruned at the root
        [SOI, 5, EOI, 11],  # closed an incomplete item (-inf path): end
    ]
    assert allowed_sets(title(trie), rows) == [ALL - {EOI}, {2, 4, EOI}, ALL - {EOI}, {EOI}, {2, 5}, {EOS}]


def test_title_prunes_listed_items_only(trie):
    rows = [
        [SOI, 5, 1, EOI, SOI, 5, 1],  # b listed: "5 1" may not close again, but a/e/g remain
        [SOI, 5, 3, EOI, SOI, 5, 1],
        [SOI, 5, 1, 2, EOI, SOI, 5],  # a/e listed, 5-1 still holds b and g; 5-3 holds c
        [SOI, 5, 1, 4, EOI, SOI, 5],
    ]
    assert allowed_sets(title(trie), rows) == [{2, 4}, {2, 4, EOI}, {1, 3}, {1, 3}]
    # Without pruning an item may repeat.
    assert allowed_sets(title(trie, prune_generated=False), rows[:1]) == [{2, 4, EOI}]


def test_title_exhausted_catalogue():
    small = ItemTrie.build([[3], [4]], ["x", "y"])
    rows = [
        [SOI, 3, EOI, SOI, 4, EOI, 11],  # everything listed: no new item may open
        [SOI, 3, EOI, SOI, 4, EOI, SOI],  # opened anyway (-inf path): nothing left, end
        [SOI, 3, EOI, 11, 11, 11, SOI],  # only y is left
    ]
    assert allowed_sets(title(small), rows) == [ALL - {EOI, SOI}, {EOS}, {4}]


def test_several_eos_ids(trie):
    proc = TrieLogitsProcessor(trie, len(PROMPT), EOI, "sid", eos_token_id=[EOS, 18])
    assert allowed_sets(proc, [[7, EOI], [5, 3]]) == [{EOS, 18}, {EOI}]


def test_matches_the_reference_on_random_rows():
    """Random catalogue, random (mostly valid) generated rows, both modes: the vectorised mask
    equals the row-by-row reference exactly."""
    rng = random.Random(1)
    vocab = 40
    sequences = [[rng.randrange(20) for _ in range(rng.randint(1, 4))] for _ in range(60)]
    trie = ItemTrie.build(sequences, [f"i{i}" for i in range(len(sequences))])
    soi, eoi, eos = 30, 31, 32
    procs = {
        "sid": TrieLogitsProcessor(trie, len(PROMPT), eoi, "sid", eos_token_id=eos),
        "title": TrieLogitsProcessor(trie, len(PROMPT), eoi, "title", item_start_id=soi, eos_token_id=eos),
    }
    for mode, proc in procs.items():
        for steps in range(0, 12):
            rows = []
            for _ in range(16):
                row: list[int] = []
                while len(row) < steps:
                    ref = reference_allowed(trie, row, mode, eoi, eos, soi, vocab)
                    # Mostly follow the rules (so rows go deep), sometimes step off them.
                    pool = sorted(ref - {eos}) or sorted(ref)
                    row.append(rng.choice(pool) if rng.random() < 0.9 else rng.randrange(vocab))
                rows.append(row)
            got = allowed_sets(proc, rows, vocab)
            want = [reference_allowed(trie, r, mode, eoi, eos, soi, vocab) for r in rows]
            assert got == want, (mode, steps)


@pytest.mark.parametrize("mode", ["sid", "title"])
def test_resuming_from_the_previous_step_equals_replaying(mode):
    """As in beam search, each call's rows extend rows of the call before (reordered, some parents
    twice, some dropped): the processor then applies only the new token, and must give the mask a
    fresh processor computes by replaying everything."""
    rng = random.Random(2)
    vocab, soi, eoi, eos = 40, 30, 31, 32
    sequences = [[rng.randrange(20) for _ in range(rng.randint(1, 4))] for _ in range(60)]
    trie = ItemTrie.build(sequences, [f"i{i}" for i in range(len(sequences))])

    def make():
        start = soi if mode == "title" else None
        return TrieLogitsProcessor(trie, len(PROMPT), eoi, mode, item_start_id=start, eos_token_id=eos)

    def pick(allowed: set[int]) -> int:
        for marker in (soi, eoi):  # open and close items often, so that rows list several
            if marker in allowed and rng.random() < 0.4:
                return marker
        return rng.choice(sorted(allowed))

    steady = make()
    rows: list[list[int]] = [[] for _ in range(12)]
    for _ in range(14):
        assert allowed_sets(steady, rows, vocab) == allowed_sets(make(), rows, vocab)
        parents = [rng.randrange(len(rows)) for _ in rows]
        rows = [rows[p] + [pick(allowed_sets(make(), [rows[p]], vocab)[0])] for p in parents]
    assert steady.calls == 14 and steady.replays == 1  # only the first call replayed
    # A batch that does not extend the last one is replayed, not misread.
    other = [[rng.randrange(vocab) for _ in range(len(rows[0]) + 1)] for _ in rows]
    assert allowed_sets(steady, other, vocab) == allowed_sets(make(), other, vocab)
    assert steady.replays == 2


def test_bad_arguments(trie):
    with pytest.raises(ValueError, match="mode"):
        TrieLogitsProcessor(trie, 3, EOI, "both", eos_token_id=EOS)
    with pytest.raises(ValueError, match="item_start_id"):
        TrieLogitsProcessor(trie, 3, EOI, "title", eos_token_id=EOS)
    with pytest.raises(ValueError, match="item_start_id must be None"):
        TrieLogitsProcessor(trie, 3, EOI, "sid", item_start_id=SOI, eos_token_id=EOS)
    with pytest.raises(ValueError, match="differs"):
        TrieLogitsProcessor(trie, 3, EOI, "title", item_start_id=SOI, item_end_id=EOS, eos_token_id=EOS)
    with pytest.raises(ValueError, match="inside item sequences"):
        TrieLogitsProcessor(trie, 3, 5, "sid", eos_token_id=EOS)  # 5 is an item token
    with pytest.raises(ValueError, match="vocabulary"):
        sid(trie)(batch([[]]), torch.zeros(1, 8))  # trie tokens beyond the scores' width


def test_title_excluded_items_are_never_allowed(trie):
    """Per-prompt exclusions (a recommender's history): prompt 0 (rows 0-1, two beams) excludes c = [5, 3]
    and d = [7]; prompt 1 (rows 2-3) excludes nothing."""
    processor = title(trie, excluded=[[2, 3], []], num_beams=2)
    rows = [[0, SOI], [SOI, 5], [0, SOI], [SOI, 5]]  # 0: free text before the item
    got = allowed_sets(processor, rows)
    assert got[0] == {5, 2} and got[1] == {1}
    assert got[2] == {5, 7, 2} and got[3] == {1, 3}
    # Excluded items count as listed: with every other item listed, no item can be opened any more.
    everything_else = [SOI, 5, 1, 2, EOI, SOI, 5, 1, EOI, SOI, 2, 9, 9, 9, EOI, SOI, 5, 1, 4, EOI]
    free = allowed_sets(title(trie, excluded=[[2, 3]], num_beams=1), [everything_else])[0]
    assert SOI not in free and EOS in free


def test_excluded_needs_title_pruning(trie):
    with pytest.raises(ValueError, match="excluded"):
        title(trie, excluded=[[0]], prune_generated=False)


def test_title_min_items_holds_the_answer_open(trie):
    """With min_items 2, free text may not end (EOS) before two items are closed in the generated text;
    inside an item nothing changes, and a catalogue with nothing left to list may still end."""
    rows = [
        [11, 12, 11, 12, 11, 12, 11],  # no item yet
        [11, 12, 11, SOI, 7, EOI, 11],  # one item: still short
        [SOI, 7, EOI, SOI, 5, 3, EOI],  # two: may end
        [11, 12, 11, 12, SOI, 5, 1],  # inside an item: as without min_items
    ]
    got = allowed_sets(title(trie, min_items=2), rows)
    assert got == [ALL - {EOI, EOS}, ALL - {EOI, EOS}, ALL - {EOI}, {2, 4, EOI}]
    assert allowed_sets(title(trie), rows[:2]) == [ALL - {EOI}, ALL - {EOI}]
    # An excluded item is not a listed one; an exhausted catalogue ends whatever min_items says.
    assert EOS not in allowed_sets(title(trie, min_items=1, excluded=[[3]]), [[11]])[0]
    small = ItemTrie.build([[3], [4]], ["x", "y"])
    assert allowed_sets(title(small, min_items=5), [[SOI, 3, EOI, SOI, 4, EOI, 11]]) == [ALL - {EOI, SOI}]
    with pytest.raises(ValueError, match="min_items"):
        sid(trie, min_items=1)
