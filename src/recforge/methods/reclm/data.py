"""Token ids and labels of RecLM conversations, and the batches the SFT trainer reads.

`encode_conversation`: the chat template renders the messages; each assistant turn's content plus the
end-of-turn token is labelled, everything else (system, user turns, the template's headers) is -100.
Every segment is encoded with add_special_tokens=False, so no BOS lands inside a sample (the seed's
segment-wise encoding inserted one per segment, seed notes 001, B.3), and pads are -100 (the seed
padded labels with a token id). RecLM-ret (`retrieval_targets`): the title tokens and <EOI> of every
item span leave the LM labels (<SOI> stays a target) and each span gives (position of <SOI>, item row).

History loss (`sft.history_loss`, not in the seed): every history item of the prompt but the first is a
target too, given the items before it (SASRec's objective, as OneRec-Think's stage 2 here):
`history_labels` labels its text tokens (cgen, token), `retrieval_targets` adds its start as one more
retrieval position (ret). `encode_conversation(..., locate=)` finds the items' token ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from recforge.methods.reclm.loss import IGNORE, item_spans
from recforge.train.collate import PromptCompletionCollator


def render(tokenizer: Any, messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=add_generation_prompt)


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def _token_ranges(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """[first, last + 1) of the tokens overlapping each character span."""
    ranges = []
    for start, end in spans:
        hits = [n for n, (a, b) in enumerate(offsets) if a < end and b > start]
        if hits:
            ranges.append((hits[0], hits[-1] + 1))
    return ranges


def encode_conversation(tokenizer: Any, messages: Sequence[Mapping[str, str]], max_length: int,
                        locate: Callable[[str], list[tuple[int, int]]] | None = None) -> dict:
    """{"input_ids", "labels"}: labels on each assistant content + end-of-turn token only. With `locate`
    (text -> character spans of the history items, [] when the text has none), also "history_spans":
    the token range [a, b) of each history item in the first prompt segment holding them (items cut
    by max_length left out)."""
    ids: list[int] = []
    labels: list[int] = []
    spans: list[tuple[int, int]] = []
    done = ""
    eos = tokenizer.eos_token or ""
    for n, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prefix = render(tokenizer, messages[:n], add_generation_prompt=True)
        full = render(tokenizer, messages[: n + 1])
        if not prefix.startswith(done) or not full.startswith(prefix):
            raise ValueError("the chat template does not render conversations incrementally")
        answer = full[len(prefix):]
        content = message["content"]
        trained = content + eos if eos and answer.startswith(content + eos) else content
        if not answer.startswith(trained):
            raise ValueError("the chat template changes the assistant's text")
        for text, learn in ((prefix[len(done):], False), (trained, True), (answer[len(trained):], False)):
            found = locate(text) if locate is not None and not learn and not spans and text else []
            if found:
                enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
                piece = enc["input_ids"]
                spans = [(len(ids) + a, len(ids) + b) for a, b in _token_ranges(enc["offset_mapping"], found)]
            else:
                piece = _ids(tokenizer, text)
            ids += piece
            labels += piece if learn else [IGNORE] * len(piece)
        done = full
    out = {"input_ids": ids[:max_length], "labels": labels[:max_length]}
    if locate is not None:
        out["history_spans"] = [(a, b) for a, b in spans if b <= max_length]
    return out


def history_labels(encoded: dict) -> dict:
    """LM labels on the tokens of every history item but the first (history loss, cgen and token)."""
    labels = list(encoded["labels"])
    for a, b in encoded["history_spans"][1:]:
        labels[a:b] = encoded["input_ids"][a:b]
    return {**encoded, "labels": labels}


def retrieval_targets(encoded: dict, trie: Any, row_of: Mapping[str, int], soi: int, eoi: int,
                      history: Sequence[str] = ()) -> dict:
    """RecLM-ret: LM labels without title tokens and <EOI>; `soi_pos`/`soi_items` per item span. With
    `history` (the prompt's item ids, `encoded["history_spans"]` their token ranges), every history item
    but the first adds (its first token's position, its row): the hidden state before it scores it."""
    labels = list(encoded["labels"])
    positions, items = [], []
    for (a, _), item in list(zip(encoded.get("history_spans", ()), history))[1:]:
        positions.append(a)
        items.append(row_of[str(item)])
    for s, e in item_spans(labels, soi, eoi):
        found = trie.lookup(labels[s + 1 : e])
        if found and s > 0:
            positions.append(s)
            items.append(row_of[found[0]])
        for p in range(s + 1, e + 1):
            labels[p] = IGNORE
    return {**encoded, "labels": labels, "soi_pos": positions, "soi_items": items}


class Collator(PromptCompletionCollator):
    """Right-padded batches (recforge.train.collate); RecLM-ret's span targets flattened
    (`soi_rows`, `soi_pos`, `soi_items`)."""

    def __call__(self, features: list[dict]) -> dict:
        import torch

        batch = super().__call__(features)
        if "soi_pos" in features[0]:
            batch["soi_rows"] = torch.tensor([n for n, f in enumerate(features) for _ in f["soi_pos"]], dtype=torch.long)
            batch["soi_pos"] = torch.tensor([p for f in features for p in f["soi_pos"]], dtype=torch.long)
            batch["soi_items"] = torch.tensor([i for f in features for i in f["soi_items"]], dtype=torch.long)
        return batch
