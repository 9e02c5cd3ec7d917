"""Trie-constrained beam search over one item per beam (SID mode) with each prompt encoded once.

transformers' beam search copies every prompt num_beams times before its first forward pass. An item
answer is a few tokens after a prompt of hundreds, so nearly all the work is that copied prompt: on
2 CPU cores with the tiny model and 20 beams, 6.7 s of 7.2 s for 32 prompts was the prefill (cProfile,
docs/benchmarks.md). transformers has no option to share it, hence this loop, written by hand: the
prompts are encoded once, their KV cache rows are repeated and reordered per beam
(DynamicCache.reorder_cache), and each step scores only the beams' newest token.

At each step the num_beams best (beam, token) continuations by summed log-probability stay open, the
allowed tokens being those of TrieLogitsProcessor. A beam that writes the closing marker is a finished
item, scored through that marker, and leaves the open beams; the num_beams best finished items are
returned. When every item has the same number of tokens (every SID trie: collision resolution keeps
the length fixed) this is transformers' search with length_penalty 0: tested to give the very beams,
order and scores of `constrained_generate(..., engine="transformers")`. With items of several lengths
(titles as items) transformers keeps a closed beam open for its EOS step, where it competes for a
slot and can be dropped; here it is kept, and the search stops once no open beam can still beat the
num_beams-th finished item (log-probabilities only fall as a beam grows). Open beams at or below it
are dropped as the search goes, which cuts the per-step cache copying (reorder and append) about 3x
for titles (docs/benchmarks.md).
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
    batch (`encoded`: input_ids and attention_mask), items best first, each item's tokens followed by
    the closing marker (repeated to the full width). A prompt with fewer items than beams gets -inf
    scores for the missing ones. `renormalize`: as constrained_generate's."""
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    n, prompt_length, width = ids.shape[0], ids.shape[1], trie.max_length + 1
    end = processor.end_token_id
    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
    cache, logits = (out["cache"] if "cache" in out else out.past_key_values), out.logits[:, -1]
    last_position = positions[:, -1]
    sequences, scores = ids, torch.zeros(n, 1, device=ids.device)
    finished = torch.full((n, num_beams, width), end, dtype=ids.dtype, device=ids.device)
    finished_scores = torch.full((n, num_beams), float("-inf"), device=ids.device)
    prompt_rows = torch.arange(n, device=ids.device).unsqueeze(1)
    for step in range(width):  # at most the longest item's tokens, then the closing marker
        logprobs = processor(sequences, torch.log_softmax(logits.float(), dim=-1))
        if renormalize:  # over the allowed tokens only, as transformers' renormalize_logits
            logprobs = torch.log_softmax(logprobs, dim=-1)
        beams, vocab = scores.shape[1], logprobs.shape[-1]
        # Beams that close here join the finished items; the best num_beams of both are kept.
        closing = scores + logprobs[:, end].view(n, beams)
        closed = torch.cat([sequences[:, prompt_length:], torch.full_like(sequences[:, :1], end)], dim=1)
        closed = torch.nn.functional.pad(closed, (0, width - closed.shape[1]), value=end).view(n, beams, width)
        finished_scores, keep = torch.cat([finished_scores, closing], dim=1).topk(num_beams, dim=-1)
        finished = torch.cat([finished, closed], dim=1).gather(1, keep.unsqueeze(-1).expand(-1, -1, width))
        logprobs[:, end] = float("-inf")
        total = (scores.reshape(-1, 1) + logprobs).view(n, beams * vocab)
        scores, flat = total.topk(num_beams, dim=-1)
        # An open beam at or below its prompt's num_beams-th finished item can never be returned
        # (log-probabilities only fall): keep as many beams as the prompt with the most live ones
        # needs, and stop when none has any.
        live = int((scores > finished_scores[:, -1:]).sum(1).max())
        if step == width - 1 or live == 0:
            break
        scores, flat = scores[:, :live], flat[:, :live]
        source, token = flat // vocab, flat % vocab
        missing = ~torch.isfinite(scores)  # fewer continuations than beams: repeat the best, scored -inf
        source = torch.where(missing, source[:, :1], source)
        token = torch.where(missing, token[:, :1], token)
        rows = (prompt_rows * beams + source).view(-1)
        sequences = torch.cat([sequences[rows], token.view(-1, 1)], dim=1)
        cache.reorder_cache(rows)
        mask = torch.cat([mask[rows], mask.new_ones(len(rows), 1)], dim=1)
        last_position = last_position[rows] + 1
        out = model(input_ids=token.view(-1, 1), attention_mask=mask, position_ids=last_position.view(-1, 1),
                    use_cache=True, **{_cache_argument(model): cache})
        logits = out.logits[:, -1]
    return finished, finished_scores


def _cache_argument(model: Any) -> str:
    """transformers 5.24 renamed forward's `past_key_values` to `cache` (the old name warns until 5.40)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
