"""Token ids and labels of RecLM conversations, and the batches the SFT trainer reads.

`encode_conversation`: the chat template renders the messages; each assistant turn's content plus the
end-of-turn token is labelled, everything else (system, user turns, the template's headers) is -100.
Every segment is encoded with add_special_tokens=False, so no BOS lands inside a sample (the seed's
segment-wise encoding inserted one per segment, seed notes 001, B.3), and pads are -100 (the seed
padded labels with a token id). RecLM-ret (`retrieval_targets`): the title tokens and <EOI> of every
item span leave the LM labels (<SOI> stays a target) and each span gives (position of <SOI>, item row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from recforge.methods.reclm.loss import IGNORE, item_spans
from recforge.train.collate import PromptCompletionCollator


def render(tokenizer: Any, messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=add_generation_prompt)


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def encode_conversation(tokenizer: Any, messages: Sequence[Mapping[str, str]], max_length: int) -> dict:
    """{"input_ids", "labels"}: labels on each assistant content + end-of-turn token only."""
    ids: list[int] = []
    labels: list[int] = []
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
            piece = _ids(tokenizer, text)
            ids += piece
            labels += piece if learn else [IGNORE] * len(piece)
        done = full
    return {"input_ids": ids[:max_length], "labels": labels[:max_length]}


def retrieval_targets(encoded: dict, trie: Any, row_of: Mapping[str, int], soi: int, eoi: int) -> dict:
    """RecLM-ret: LM labels without title tokens and <EOI>; `soi_pos`/`soi_items` per item span."""
    labels = list(encoded["labels"])
    positions, items = [], []
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
