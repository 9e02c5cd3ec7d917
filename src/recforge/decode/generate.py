"""Constrained beam search for a batch of prompts -> a ranked list of catalogue item ids per prompt.

Two engines, one processor (`TrieLogitsProcessor`) and one ranking:
- "transformers": transformers' own `generate` (beam search). Every decoding knob is set explicitly in
  one GenerationConfig (`decoding_config`), so values in a model's saved generation_config (sampling,
  repetition penalties, min lengths) cannot leak in. Serves both modes.
- "shared_prefill" (SID mode): the same search with each prompt encoded once instead of num_beams
  times (recforge.decode.sid_search); the default in SID mode. With items of one length (every SID
  trie) its beams are transformers'; with items of several lengths (titles as items) it keeps every
  closed item, which transformers' search can drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig, LogitsProcessorList

from recforge.decode.processor import MODES, TrieLogitsProcessor
from recforge.decode.sid_search import sid_beam_search
from recforge.decode.trie import ItemTrie
from recforge.models.tokens import ITEM_END, ITEM_START, SID_BEGIN, SID_END, sid_token

# transformers starts beams 1.. at -1e9 so the first step does not pick the same token num_beams times;
# when the trie offers fewer continuations than beams, such placeholder beams (or -inf ones) survive to
# the end. Their scores are not model probabilities and must not be ranked (`_placeholder_bound`).
BEAM_PLACEHOLDER = -1e9
ENGINES = ("auto", "transformers", "shared_prefill")


def sid_sequences(tokenizer: Any, codes: Sequence[Sequence[int]]) -> list[list[int]]:
    """Token ids of each item's SID (`<s_a_12><s_b_3>...`, without the begin/end markers). Rows may
    differ in length; each distinct (level, code) is looked up in the vocabulary once."""
    vocab = tokenizer.get_vocab()
    try:
        matrix = np.asarray(codes)
    except ValueError:  # ragged rows
        matrix = None
    if matrix is not None and matrix.ndim == 2 and np.issubdtype(matrix.dtype, np.integer) and matrix.size:
        # Fixed-length SIDs (the usual case, 100k+ items): one table lookup for the whole catalogue.
        if matrix.min() < 0:
            raise ValueError("SID codes must be non-negative")
        table = np.full((matrix.shape[1], int(matrix.max()) + 1), -1, dtype=np.int64)
        for level in range(matrix.shape[1]):
            for code in np.unique(matrix[:, level]).tolist():
                name = sid_token(level, code)
                if name not in vocab:
                    raise ValueError(f"SID token {name} is not in the tokenizer (add SID tokens with models.tokens)")
                table[level, code] = vocab[name]
        return table[np.arange(matrix.shape[1]), matrix].tolist()
    rows = [[int(code) for code in row] for row in codes]
    ids: dict[tuple[int, int], int] = {}
    for level, code in {(level, code) for row in rows for level, code in enumerate(row)}:
        name = sid_token(level, code)
        if name not in vocab:
            raise ValueError(f"SID token {name} is not in the tokenizer (add SID tokens with models.tokens)")
        ids[level, code] = vocab[name]
    return [[ids[level, code] for level, code in enumerate(row)] for row in rows]


def title_sequences(tokenizer: Any, titles: Sequence[str]) -> list[list[int]]:
    """Token ids of each title encoded on its own. `<SOI>` is an added token, so the text after it
    is tokenised from a fresh start and the in-context tokens equal these (seed notes 001, B.4)."""
    return tokenizer(list(titles), add_special_tokens=False)["input_ids"]


def decoding_config(
    *,
    num_beams: int,
    num_return_sequences: int,
    max_new_tokens: int,
    length_penalty: float,
    early_stopping: bool | str,
    eos_token_id: int | list[int],
    pad_token_id: int,
    renormalize: bool = False,
) -> GenerationConfig:
    """Deterministic beam search with every knob that could change the beams stated."""
    return GenerationConfig(
        do_sample=False,
        num_beams=num_beams,
        num_return_sequences=num_return_sequences,
        max_new_tokens=max_new_tokens,
        min_new_tokens=0,
        length_penalty=length_penalty,
        early_stopping=early_stopping,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        repetition_penalty=1.0,
        no_repeat_ngram_size=0,
        encoder_no_repeat_ngram_size=0,
        bad_words_ids=None,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        renormalize_logits=renormalize,
        temperature=1.0,
        top_k=None,
        top_p=None,
        use_cache=True,
        output_scores=True,  # beam search returns sequences_scores only with it
        return_dict_in_generate=True,
    )


def markers(tokenizer: Any, mode: str, item_start: str | None, item_end: str | None) -> tuple[int, int]:
    """(start id, end id) of an item: `<|sid_begin|>`/`<|sid_end|>` or `<SOI>`/`<EOI>` by default."""
    start = item_start or (SID_BEGIN if mode == "sid" else ITEM_START)
    end = item_end or (SID_END if mode == "sid" else ITEM_END)
    vocab = tokenizer.get_vocab()
    for name in (start, end):
        if name not in vocab:
            raise ValueError(f"{mode} mode needs the token {name!r}, which the tokenizer lacks")
    return vocab[start], vocab[end]


def items_in(generated: Sequence[int], trie: ItemTrie, mode: str, start_id: int, end_id: int) -> list[str]:
    """Catalogue items in one generated answer, in order: the SID before the closing token (SID
    mode), or every `<SOI>...<EOI>` span (title mode). Incomplete items are dropped."""
    tokens = list(generated)
    if mode == "sid":
        return trie.lookup(tokens[: tokens.index(end_id)]) if end_id in tokens else []
    found, opened = [], None
    for i, token in enumerate(tokens):
        if token == start_id and opened is None:
            opened = i + 1
        elif token == end_id and opened is not None:
            found.extend(trie.lookup(tokens[opened:i]))
            opened = None
    return found


@torch.inference_mode()
def constrained_generate(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    trie: ItemTrie,
    k: int = 10,
    num_beams: int = 10,
    max_new_tokens: int | None = None,
    batch_size: int = 8,
    mode: str = "sid",
    *,
    num_return_sequences: int | None = None,
    length_penalty: float = 0.0,
    early_stopping: bool | str | None = None,
    eos_token_id: int | list[int] | None = None,
    pad_token_id: int | None = None,
    item_start: str | None = None,
    item_end: str | None = None,
    prune_generated: bool = True,
    engine: str = "auto",
    exclude: Sequence[Sequence[str]] | None = None,
    min_items: int = 0,
    renormalize: bool = False,
) -> list[list[str]]:
    """Per prompt, up to `k` distinct item ids ranked by beam score (first occurrence kept).

    `prompts` are chat-rendered text. SID mode: each prompt must end with `<|sid_begin|>`, each beam
    is one item, so `num_beams >= k` is required; `max_new_tokens` defaults to the longest SID + 1
    (the closing `<|sid_end|>`). Title mode: each answer lists items between `<SOI>`/`<EOI>` amid free
    text; a prompt's items come from its beams in score order, each beam's in answer order; give
    `max_new_tokens` (the answer length has no natural bound).

    `early_stopping` (transformers' beam-search stopping rule; the transformers engine only) defaults
    to "never" in SID mode: with items of several lengths (titles as items) a search that stops once
    `num_beams` beams ended would miss longer items, since beams with no allowed continuation end at
    once as placeholders; True (stop then) in title mode, where answers are long.
    `length_penalty` 0 (the default) ranks by the summed log-probability of the generated tokens,
    i.e. the item's joint probability under the model; transformers' default 1.0 divides by the
    length, which favours long titles. `eos_token_id` defaults to the tokenizer's, `pad_token_id` to
    the tokenizer's pad (else EOS). Prompts are left-padded, so the processor's prompt_length is the
    padded length of the batch.

    `exclude` (title mode): per prompt, item ids that may not be generated (e.g. its history); the
    trie treats them as already listed, so no beam can write them (TrieLogitsProcessor.excluded).
    With num_beams 1 the search is greedy (scores 0). `min_items` (title mode): no beam may end before
    it has listed this many items (TrieLogitsProcessor.min_items).

    `engine`: "transformers", "shared_prefill" (SID mode; each prompt encoded once; the same beams
    when items have one length, see recforge.decode.sid_search otherwise) or "auto" (shared_prefill
    in SID mode, unless items of several lengths are ranked with a length penalty, which it lacks).
    `renormalize`: score each step by the log-softmax over the allowed tokens only (transformers'
    renormalize_logits), the distribution a model trained with a scope mask defines (RecLM's loss
    normalises over the trie's children, so its full-vocabulary log-probabilities are not comparable
    across prefixes); False keeps the full-vocabulary log-probabilities of the allowed tokens. Greedy
    search (num_beams 1) picks the same tokens either way.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if k < 1 or batch_size < 1 or num_beams < 1:
        raise ValueError(f"k, num_beams and batch_size must be >= 1 (got {k}, {num_beams}, {batch_size})")
    if mode == "sid" and num_beams < k:
        raise ValueError(
            f"num_beams={num_beams} < k={k}: in SID mode each beam yields one item, so beam search "
            f"cannot return {k} items; use num_beams >= k"
        )
    num_return_sequences = num_beams if num_return_sequences is None else num_return_sequences
    if not 1 <= num_return_sequences <= num_beams:
        raise ValueError(f"num_return_sequences={num_return_sequences} must be in 1..num_beams={num_beams}")
    if mode == "sid" and num_return_sequences < k:
        raise ValueError(f"num_return_sequences={num_return_sequences} < k={k}: SID mode needs one per item")
    if max_new_tokens is None:
        if mode == "title":
            raise ValueError("title mode needs max_new_tokens (the length of the whole answer)")
        max_new_tokens = trie.max_length + 1
    if early_stopping is None:
        early_stopping = "never" if mode == "sid" else True
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "auto":
        engine = "shared_prefill" if mode == "sid" and (trie.same_length() or not length_penalty) else "transformers"
    if engine == "shared_prefill" and (mode != "sid" or num_return_sequences != num_beams
                                       or max_new_tokens != trie.max_length + 1):
        raise ValueError("the shared_prefill engine decodes SID mode only, one item per beam "
                         "(num_return_sequences = num_beams, max_new_tokens = SID length + 1)")
    if engine == "shared_prefill" and length_penalty and not trie.same_length():
        raise ValueError("the shared_prefill engine has no length penalty for items of several lengths; "
                         "use length_penalty=0 or engine='transformers'")
    if exclude is not None and (mode != "title" or len(exclude) != len(prompts)):
        raise ValueError("exclude needs title mode and one item list per prompt")
    row_of = {item: n for n, item in enumerate(trie.item_ids)} if exclude is not None else {}
    start_id, end_id = markers(tokenizer, mode, item_start, item_end)
    eos = tokenizer.eos_token_id if eos_token_id is None else eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no EOS token; pass eos_token_id")
    pad = pad_token_id if pad_token_id is not None else tokenizer.pad_token_id
    pad = eos if pad is None else pad
    pad = pad[0] if isinstance(pad, list) else pad
    config = decoding_config(
        num_beams=num_beams,
        num_return_sequences=num_return_sequences,
        max_new_tokens=max_new_tokens,
        length_penalty=length_penalty,
        early_stopping=early_stopping,
        eos_token_id=eos,
        pad_token_id=pad,
        renormalize=renormalize,
    )
    device = next(model.parameters()).device
    ranked: list[list[str]] = []
    starts = range(0, len(prompts), batch_size)
    # Progress on stderr (the rule's log), at most every 30 s; silent for a single batch.
    for first in tqdm(starts, desc=f"{mode} beam search", unit="batch", mininterval=30, disable=len(starts) < 2):
        batch = prompts[first : first + batch_size]
        encoded = tokenizer(
            batch, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
        ).to(device)
        prompt_length = encoded["input_ids"].shape[1]
        if mode == "sid":
            last = encoded["input_ids"][:, -1]
            if bool((last != start_id).any()):
                bad = int(torch.nonzero(last != start_id)[0, 0]) + first
                raise ValueError(f"SID mode: prompt {bad} does not end with the item start token")
        processor = TrieLogitsProcessor(
            trie,
            prompt_length=prompt_length,
            end_token_id=end_id,
            mode=mode,
            item_start_id=start_id if mode == "title" else None,
            eos_token_id=eos,
            prune_generated=prune_generated,
            excluded=None if exclude is None else [
                [row_of[i] for i in exclude[j] if i in row_of] for j in range(first, first + len(batch))],
            num_beams=num_beams,
            min_items=min_items,
        )
        if engine == "shared_prefill":
            generated, scores = sid_beam_search(model, encoded, trie, processor, num_beams, renormalize)
        else:
            out = model.generate(
                **encoded, generation_config=config, logits_processor=LogitsProcessorList([processor])
            )
            generated = out.sequences[:, prompt_length:].view(len(batch), num_return_sequences, -1)
            if getattr(out, "sequences_scores", None) is None:  # greedy search (num_beams 1) has no beam scores
                scores = torch.zeros(len(batch), num_return_sequences)
            else:
                scores = out.sequences_scores.view(len(batch), num_return_sequences)
        bound = _placeholder_bound(max_new_tokens, length_penalty)
        ranked.extend(_rank(generated.tolist(), scores.tolist(), bound, trie, mode, start_id, end_id, k))
    return ranked


def _placeholder_bound(max_new_tokens: int, length_penalty: float) -> float:
    """A score below which a beam descends from a placeholder: its summed log-prob is about -1e9,
    divided by at most max_new_tokens ** length_penalty; half of that leaves room for real scores."""
    return 0.5 * BEAM_PLACEHOLDER / max(1, max_new_tokens) ** max(length_penalty, 0.0)


def _rank(sequences, scores, bound, trie, mode, start_id, end_id, k) -> list[list[str]]:
    """Items per prompt from its beams' generated tokens [prompt][beam][token] and scores."""
    ranked = []
    for beams, beam_scores in zip(sequences, scores):
        items: dict[str, None] = {}
        # Both engines give a prompt's beams best first; sorted() is stable, so ties keep that order.
        for b in sorted(range(len(beams)), key=lambda b: -beam_scores[b]):
            if not beam_scores[b] > bound:
                continue
            for item in items_in(beams[b], trie, mode, start_id, end_id):
                items.setdefault(item, None)
        ranked.append(list(items)[:k])
    return ranked
