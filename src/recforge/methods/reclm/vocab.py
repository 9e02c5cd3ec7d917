"""RecLM's tokens and item representations on a base model.

- `<SOI>`/`<EOI>` through recforge.models.tokens.add_tokens (the registry rule; the tiny tokenizer
  already has them), then initialised as the seed does: each row is the mean input embedding of the
  tokens of "start of an item" / "end of an item" (and the same in an untied output head).
- Item texts inside <SOI>..<EOI>: `title_t` (reclm_cgen, reclm_ret) or the item's semantic ID as SID
  tokens, "<s_a_12><s_b_3><s_c_7>" (reclm_token; recforge.sid codes, tokens added by the registry).
- The exact item trie (recforge.decode.ItemTrie) over the token ids of those texts encoded on their own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from recforge.models.tokens import ITEM_END, ITEM_START, add_tokens, sid_token, sid_tokens

log = logging.getLogger(__name__)

PHRASES = {ITEM_START: "start of an item", ITEM_END: "end of an item"}


def add_control_tokens(model: Any, tokenizer: Any, pad_to_multiple_of: int | None = 64) -> list[int]:
    """Add <SOI>/<EOI> when missing and initialise their rows from the phrases; returns their ids."""
    add_tokens(tokenizer, [ITEM_START, ITEM_END], model=model, pad_to_multiple_of=pad_to_multiple_of)
    import torch

    ids = tokenizer.convert_tokens_to_ids([ITEM_START, ITEM_END])
    tables = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None and output.weight.data_ptr() != tables[0].data_ptr():
        tables.append(output.weight)
    with torch.no_grad():
        for token, token_id in zip((ITEM_START, ITEM_END), ids):
            pieces = tokenizer(PHRASES[token], add_special_tokens=False)["input_ids"]
            for table in tables:
                table[token_id] = table[torch.tensor(pieces)].mean(dim=0)
    return list(ids)


def sid_texts(item_ids: list[str], codes: np.ndarray) -> dict[str, str]:
    """item_id -> "<s_a_..><s_b_..>..." (SID tokens only; <SOI>/<EOI> frame them in answers)."""
    return {item: "".join(sid_token(level, int(c)) for level, c in enumerate(row))
            for item, row in zip(item_ids, np.asarray(codes))}


def add_sid_tokens(model: Any, tokenizer: Any, codes: np.ndarray, pad_to_multiple_of: int | None = 64) -> list[int]:
    """Every level/code token up to the largest code used (registry rule); the ids of all of them."""
    codes = np.asarray(codes)
    tokens = sid_tokens(codes.shape[1], int(codes.max()) + 1)[2:]  # no <|sid_begin|>/<|sid_end|>
    add_tokens(tokenizer, tokens, model=model, pad_to_multiple_of=pad_to_multiple_of)
    return list(tokenizer.convert_tokens_to_ids(tokens))


def build_trie(tokenizer: Any, item_text: Mapping[str, str]):
    """The exact trie over each item's text tokens (encoded alone: <SOI> is an added token, so the
    text after it tokenises from a fresh start). Texts are unique, so every item ends at its own node."""
    from recforge.decode import ItemTrie, title_sequences

    items = list(item_text)
    trie = ItemTrie.build(title_sequences(tokenizer, [item_text[i] for i in items]), items)
    if trie.num_terminals != trie.num_items:
        log.warning("%d items share a token sequence with another item", trie.num_items - trie.num_terminals)
    return trie
