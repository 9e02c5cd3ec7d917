"""Trie-constrained beam search over SIDs with each prompt encoded once.

transformers' beam search copies every prompt num_beams times before its first forward pass. A SID
answer is 3-4 tokens after a prompt of hundreds, so nearly all the work is that copied prompt: on
2 CPU cores with the tiny model and 20 beams, 6.7 s of 7.2 s for 32 prompts was the prefill (cProfile,
docs/benchmarks.md). transformers has no option to share it, hence this loop, written by hand: the
prompts are encoded once, their KV cache rows are repeated and reordered per beam
(DynamicCache.reorder_cache), and each step scores only the beams' newest token.

The search is transformers' with length_penalty 0 when every item has the same number of tokens, which
holds for every SID trie (collision resolution keeps the length fixed): at each step, the num_beams
best (beam, token) continuations by summed log-probability survive, the allowed tokens being those of
TrieLogitsProcessor; the closing `<|sid_end|>` is scored like any token. Tested to give the very beams,
order and scores of `constrained_generate(..., engine="transformers")`.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from recforge.decode.processor import TrieLogitsProcessor
from recforge.decode.trie import ItemTrie


@torch.inference_mode()
def sid_beam_search(model: Any, encoded: Any, trie: ItemTrie, processor: TrieLogitsProcessor,
                    num_beams: int, renormalize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(generated tokens [n, num_beams, max_length + 1], scores [n, num_beams]) for one left-padded
    batch (`encoded`: input_ids and attention_mask), beams best first. A prompt with fewer items than
    beams gets -inf scores for the missing ones (their tokens repeat its best beam). `renormalize`: as
    constrained_generate's."""
    if not trie.same_length():
        raise ValueError("sid_beam_search needs items of one token length; use engine='transformers'")
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    n = ids.shape[0]
    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
    cache, logits = (out["cache"] if "cache" in out else out.past_key_values), out.logits[:, -1]
    last_position = positions[:, -1]
    sequences, scores = ids, torch.zeros(n, 1, device=ids.device)
    prompt_rows = torch.arange(n, device=ids.device).unsqueeze(1)
    for step in range(trie.max_length + 1):  # the SID tokens, then the closing marker
        logprobs = processor(sequences, torch.log_softmax(logits.float(), dim=-1))
        if renormalize:  # over the allowed tokens only, as transformers' renormalize_logits
            logprobs = torch.log_softmax(logprobs, dim=-1)
        beams, vocab = scores.shape[1], logprobs.shape[-1]
        total = (scores.reshape(-1, 1) + logprobs).view(n, beams * vocab)
        scores, flat = total.topk(num_beams, dim=-1)
        source, token = flat // vocab, flat % vocab
        missing = ~torch.isfinite(scores)
        source = torch.where(missing, source[:, :1], source)
        token = torch.where(missing, token[:, :1], token)
        rows = (prompt_rows * beams + source).view(-1)
        sequences = torch.cat([sequences[rows], token.view(-1, 1)], dim=1)
        if step == trie.max_length:
            break
        cache.reorder_cache(rows)
        mask = torch.cat([mask[rows], mask.new_ones(len(rows), 1)], dim=1)
        last_position = last_position[rows] + 1
        out = model(input_ids=token.view(-1, 1), attention_mask=mask, position_ids=last_position.view(-1, 1),
                    use_cache=True, **{_cache_argument(model): cache})
        logits = out.logits[:, -1]
    generated = sequences[:, ids.shape[1]:].view(n, num_beams, -1)
    return generated, scores


def _cache_argument(model: Any) -> str:
    """transformers 5.24 renamed forward's `past_key_values` to `cache` (the old name warns until 5.40)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
