"""RecLM decoding: constrained generation of titles or SIDs between <SOI> and <EOI> (reclm_cgen,
reclm_token), and RecLM-ret's retrieval loop.

- `Decoder.rank(..., constrained=True)`: recforge.decode.constrained_generate in title mode: free text
  outside item spans, inside <SOI>..<EOI> only continuations of real items (the exact trie), an item
  already in the answer pruned, and the sample's history excluded in the trie itself (the processor
  treats those items as listed), so every beam is constrained and every listed item is a catalogue
  item outside the history. Beam scores are log-probabilities renormalised over the allowed tokens, the
  distribution the SFT's scope mask trains (greedy decoding, the default, is the same either way).
  With `item_beams` B the list is instead the model's top items for the first answer slot: a beam
  search over whole items (SID mode of constrained_generate: B beams, one item each, ranked by the
  item's probability renormalised over the trie), history items dropped. Greedy decoding writes one
  answer, which a small model makes nearly the same for every user; the first slot's distribution
  ranks the whole catalogue.
  Unconstrained (`constrained=False`): plain generation, the spans matched to item texts afterwards
  (out-of-domain spans kept as None); for the throughput and OOD comparison.
- `retrieve` (reclm_ret, seed notes 001, B.6): greedy decoding with a KV cache; when the model's next
  token is <SOI>, the last hidden state goes through the projection head, every item is scored by
  inner product, the answer's and the history's items are masked, the best one's tokens and <EOI> are
  fed in, and generation goes on, until end of turn, k items, or `max_new_tokens`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from recforge.models.tokens import ITEM_END, ITEM_START

SPAN = re.compile(re.escape(ITEM_START) + r"(.*?)" + re.escape(ITEM_END), re.S)


@dataclass
class Decoder:
    tokenizer: Any
    trie: Any
    item_text: Mapping[str, str]
    head: Any = None  # RecLM-ret's RetrievalHead; None: generation
    _item_of_text: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        vocab = self.tokenizer.get_vocab()
        self.soi, self.eoi = vocab[ITEM_START], vocab[ITEM_END]
        self.eos = self.tokenizer.eos_token_id
        self.row_of = {item: n for n, item in enumerate(self.trie.item_ids)}
        self._item_of_text = {text: item for item, text in self.item_text.items()}

    # ------------------------------------------------------------------ ranking
    def rank(self, model: Any, prompts: Sequence[str], excluded: Sequence[Sequence[str]], *, k: int,
             num_beams: int = 1, batch_size: int = 32, max_new_tokens: int = 160,
             constrained: bool = True, min_items: int = 0, item_beams: int = 0,
             idx: bool = True) -> list[list[str | None]]:
        """Per prompt its items in answer order (at most k). Unconstrained answers may hold None (a
        span naming no catalogue item), repeats and history items. Constrained, an answer may end only
        once it lists `min_items` items (or nothing is left to list). `item_beams` (constrained,
        generation): the first slot's top items (module docstring); `idx`: answers are numbered."""
        if not prompts:
            return []
        if item_beams and constrained and self.head is None:
            return self.first_slot(model, prompts, excluded, k=k, beams=item_beams, batch_size=batch_size, idx=idx)
        if self.head is not None and constrained:
            return retrieve(model, self.tokenizer, self.head, prompts, excluded, self.trie, self.item_text,
                            self.soi, self.eoi, self.eos, k=k, max_new_tokens=max_new_tokens, batch_size=batch_size,
                            min_items=min_items)
        if constrained:
            from recforge.decode import constrained_generate

            return constrained_generate(model, self.tokenizer, list(prompts), self.trie, k=k, num_beams=num_beams,
                                        num_return_sequences=1, max_new_tokens=max_new_tokens, batch_size=batch_size,
                                        mode="title", eos_token_id=self.eos, exclude=[list(e) for e in excluded],
                                        min_items=min_items, renormalize=True)
        return [self.parse(text)[:k] for text in self.generate_text(model, prompts, num_beams=num_beams,
                                                                     batch_size=batch_size,
                                                                     max_new_tokens=max_new_tokens)]

    def first_slot(self, model: Any, prompts: Sequence[str], excluded: Sequence[Sequence[str]], *, k: int,
                   beams: int, batch_size: int, idx: bool = True, engine: str = "auto") -> list[list[str]]:
        from recforge.decode import constrained_generate

        # The answer's first item span, as the SFT answers open it (samples.answer_text).
        opening = f"1. {ITEM_START}" if idx else ITEM_START
        found = constrained_generate(model, self.tokenizer, [p + opening for p in prompts], self.trie, k=beams,
                                     num_beams=beams, batch_size=batch_size, mode="sid", item_start=ITEM_START,
                                     item_end=ITEM_END, eos_token_id=self.eos, renormalize=True, engine=engine)
        histories = (set(map(str, seen)) for seen in excluded)
        return [[i for i in items if i not in history][:k] for items, history in zip(found, histories)]

    def parse(self, text: str) -> list[str | None]:
        """The items named by the answer's <SOI>..<EOI> spans (None for a span naming none)."""
        return [self._item_of_text.get(span.strip()) for span in SPAN.findall(text)]

    @torch.inference_mode()
    def generate_text(self, model: Any, prompts: Sequence[str], *, num_beams: int = 1, batch_size: int = 32,
                      max_new_tokens: int = 160, constrained: bool = False) -> list[str]:
        """The answers as text (control tokens kept); with `constrained`, the trie processor acts
        inside item spans only (free text elsewhere, e.g. a general question)."""
        from transformers import LogitsProcessorList

        from recforge.decode import TrieLogitsProcessor

        device = next(model.parameters()).device
        out: list[str] = []
        for lo in range(0, len(prompts), batch_size):
            enc = self.tokenizer(list(prompts[lo : lo + batch_size]), return_tensors="pt", padding=True,
                                 padding_side="left", add_special_tokens=False).to(device)
            width = enc["input_ids"].shape[1]
            processors = LogitsProcessorList([TrieLogitsProcessor(
                self.trie, width, self.eoi, "title", item_start_id=self.soi, eos_token_id=self.eos,
                num_beams=num_beams)]) if constrained else None
            generated = model.generate(**enc, do_sample=False, num_beams=num_beams, max_new_tokens=max_new_tokens,
                                       eos_token_id=self.eos, pad_token_id=self.tokenizer.pad_token_id,
                                       logits_processor=processors, temperature=None, top_p=None, top_k=None)
            out.extend(self.tokenizer.batch_decode(generated[:, width:], skip_special_tokens=False))
        eos_text = self.tokenizer.eos_token or ""
        pad_text = self.tokenizer.pad_token or ""
        return [t.split(eos_text)[0] if eos_text else t.replace(pad_text, "") for t in out]


# ------------------------------------------------------------------------------------ RecLM-ret
class RetrievalHead(torch.nn.Module):
    """Linear(H, P) -> GELU -> Linear(P, D) on the hidden state before <SOI>; item scores are inner
    products with the item table [N, D] (the recforge.embed vectors, trainable when `trainable`)."""

    def __init__(self, hidden_size: int, projection_hidden: int, item_vectors: torch.Tensor, trainable: bool = True):
        super().__init__()
        dim = item_vectors.shape[1]
        self.proj = torch.nn.Sequential(torch.nn.Linear(hidden_size, projection_hidden), torch.nn.GELU(),
                                        torch.nn.Linear(projection_hidden, dim))
        self.items = torch.nn.Parameter(item_vectors.detach().clone().float(), requires_grad=trainable)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.proj(hidden.float()) @ self.items.T


@torch.inference_mode()
def retrieve(model: Any, tokenizer: Any, head: RetrievalHead, prompts: Sequence[str], excluded: Sequence[Sequence[str]],
             trie: Any, item_text: Mapping[str, str], soi: int, eoi: int, eos: int, *, k: int, max_new_tokens: int, batch_size: int = 32,
             min_items: int = 0) -> list[list[str]]:
    """RecLM-ret's generate-retrieve loop (module docstring); items in answer order. A row may end
    its turn only once it lists `min_items` items (or nothing is left to retrieve)."""
    from recforge.decode import title_sequences
    from recforge.decode.sid_search import _cache_argument

    device = next(model.parameters()).device
    row_of = {item: n for n, item in enumerate(trie.item_ids)}
    token_cache: dict[int, list[int]] = {}
    results: list[list[str]] = []
    starts = range(0, len(prompts), batch_size)
    for lo in tqdm(starts, desc="retrieval", unit="batch", mininterval=30, disable=len(starts) < 2):
        enc = tokenizer(list(prompts[lo : lo + batch_size]), return_tensors="pt", padding=True, padding_side="left",
                        add_special_tokens=False).to(device)
        ids, mask = enc["input_ids"], enc["attention_mask"]
        n = ids.shape[0]
        positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, output_hidden_states=True)
        cache = out["cache"] if "cache" in out else out.past_key_values
        logits, hidden = out.logits[:, -1].float(), out.hidden_states[-1][:, -1]
        last = positions[:, -1]
        banned = torch.zeros(n, len(trie.item_ids), dtype=torch.bool, device=device)
        for r, items in enumerate(excluded[lo : lo + n]):
            rows = [row_of[i] for i in items if i in row_of]
            if rows:
                banned[r, rows] = True
        queues: list[list[int]] = [[] for _ in range(n)]
        found: list[list[str]] = [[] for _ in range(n)]
        done = [False] * n
        for _ in range(max_new_tokens):
            logits[:, eoi] = float("-inf")  # <EOI> only closes a retrieved item
            short = [r for r in range(n) if len(found[r]) < min_items]
            if short:
                logits[short, eos] = float("-inf")
            choice = logits.argmax(-1).tolist()
            query = [r for r in range(n) if not done[r] and not queues[r] and choice[r] == soi and len(found[r]) < k]
            queued_now = set()
            if query:
                scores = head(hidden[query]).masked_fill(banned[query], float("-inf"))
                best = scores.argmax(-1).tolist()
                for r, j in zip(query, best):
                    if not torch.isfinite(scores[query.index(r), j]):
                        choice[r] = eos  # nothing left to recommend
                        continue
                    banned[r, j] = True
                    found[r].append(trie.item_ids[j])
                    if j not in token_cache:
                        token_cache[j] = title_sequences(tokenizer, [item_text[trie.item_ids[j]]])[0]
                    queues[r] = token_cache[j] + [eoi]
                    queued_now.add(r)
            step = []
            for r in range(n):
                if done[r]:
                    step.append(eos)
                elif r in queued_now:
                    step.append(soi)
                elif queues[r]:
                    step.append(queues[r].pop(0))
                else:  # free text; <SOI> here means k items are listed (or none is left): end the turn
                    token = eos if choice[r] == soi else choice[r]
                    step.append(token)
                    done[r] = token == eos
            if all(done):
                break
            token = torch.tensor(step, device=device).view(-1, 1)
            mask = torch.cat([mask, mask.new_ones(n, 1)], dim=1)
            last = last + 1
            out = model(input_ids=token, attention_mask=mask, position_ids=last.view(-1, 1), use_cache=True,
                        output_hidden_states=True, **{_cache_argument(model): cache})
            cache = out["cache"] if "cache" in out else out.past_key_values
            logits, hidden = out.logits[:, -1].float(), out.hidden_states[-1][:, -1]
        results.extend(found)
    return results


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started
