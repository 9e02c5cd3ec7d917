"""SID tokens in the model's vocabulary, their initial embeddings, and the item trie.

Tokens are added through recforge.models.tokens.add_tokens (the one rule for added tokens: non-special,
not normalised). Initialisation (`init_sid_embeddings`): every level token <s_{level}_{code}> starts at
the mean, over the items whose SID has `code` at `level`, of the item's mean text-token embedding
(the embedding of its catalogue `text` line under the base tokenizer). A code thus starts at the
centroid of the text of the items it groups, which is what the RQ/PQ code means; codes no item uses
and the begin/end markers keep add_tokens' initialisation (mean of the token string's own pieces).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recforge.models.tokens import SID_BEGIN, SID_END, add_tokens, sid_token, sid_tokens
from recforge.text.items import as_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SidIndex:
    """item_ids[i] has code row codes[i] ([n_items, n_levels])."""

    item_ids: list[str]
    codes: np.ndarray

    @classmethod
    def from_sids(cls, sids: Any) -> "SidIndex":
        """From recforge.sid's SemanticIds (read_sids) or a frame with item_id and codes."""
        if isinstance(sids, pd.DataFrame):
            rows = [np.asarray(c, dtype=np.int64) for c in sids["codes"]]
            return cls([str(i) for i in sids["item_id"]], np.stack(rows) if rows else np.zeros((0, 0), np.int64))
        return cls([str(i) for i in sids.item_ids], np.asarray(sids.codes, dtype=np.int64))

    @property
    def n_levels(self) -> int:
        return int(self.codes.shape[1])

    def level_tokens(self, row: int) -> list[str]:
        return [sid_token(level, int(code)) for level, code in enumerate(self.codes[row])]

    def texts(self) -> dict[str, str]:
        """item_id -> "<|sid_begin|><s_a_..>...<|sid_end|>"."""
        return {item: SID_BEGIN + "".join(self.level_tokens(r)) + SID_END for r, item in enumerate(self.item_ids)}

    def all_tokens(self) -> list[str]:
        """Markers plus every level/code token up to the largest code used (fixed order)."""
        size = int(self.codes.max()) + 1 if self.codes.size else 0
        return sid_tokens(self.n_levels, size)


def expand_vocabulary(model: Any, tokenizer: Any, sids: SidIndex, items: pd.DataFrame,
                      pad_to_multiple_of: int | None = 64) -> list[int]:
    """Add the SID tokens (idempotent), initialise their rows; the ids of every SID token."""
    tokens = sids.all_tokens()
    before = len(tokenizer)
    new = add_tokens(tokenizer, tokens, model=model, pad_to_multiple_of=pad_to_multiple_of)
    if new:
        init_sid_embeddings(model, tokenizer, sids, items)
    log.info("SID vocabulary: %d tokens (%d new, vocabulary %d -> %d)", len(tokens), len(new), before, len(tokenizer))
    return sid_token_ids(tokenizer, sids)


def sid_token_ids(tokenizer: Any, sids: SidIndex) -> list[int]:
    ids = tokenizer.convert_tokens_to_ids(sids.all_tokens())
    if tokenizer.unk_token_id is not None and tokenizer.unk_token_id in ids:
        raise ValueError("a SID token is unknown to the tokenizer: expand the vocabulary first")
    return list(ids)


def item_text_vectors(model: Any, tokenizer: Any, texts: Sequence[str], max_tokens: int = 32):
    """Mean input-embedding of each text's first `max_tokens` tokens ([n, hidden]); an empty text
    gets the mean of all rows."""
    import torch

    table = model.get_input_embeddings().weight.detach()
    fallback = table.float().mean(0)
    out = torch.empty(len(texts), table.shape[1], dtype=torch.float32, device=table.device)
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if len(texts) else []
    for n, ids in enumerate(encoded):
        ids = ids[:max_tokens]
        out[n] = table[torch.tensor(ids, device=table.device)].float().mean(0) if ids else fallback
    return out


def init_sid_embeddings(model: Any, tokenizer: Any, sids: SidIndex | Any, items: pd.DataFrame,
                        max_tokens: int = 32) -> int:
    """Set each used level token's row(s) to the mean text vector of the items with that code at that
    level (input embeddings, and untied output embeddings the same way). Returns the rows set."""
    import torch

    sids = sids if isinstance(sids, SidIndex) else SidIndex.from_sids(sids)
    text_of = {}
    for row in items.to_dict("records"):
        text_of[as_text(row.get("item_id"))] = as_text(row.get("text")) or as_text(row.get("title"))
    vectors = item_text_vectors(model, tokenizer, [text_of.get(i, "") for i in sids.item_ids], max_tokens)
    tables = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None and output.weight.data_ptr() != tables[0].data_ptr():
        tables.append(output.weight)
    done = 0
    with torch.no_grad():
        for level in range(sids.n_levels):
            column = torch.as_tensor(sids.codes[:, level], device=vectors.device)
            size = int(column.max()) + 1
            sums = torch.zeros(size, vectors.shape[1], device=vectors.device).index_add_(0, column, vectors)
            counts = torch.bincount(column, minlength=size)
            used = torch.nonzero(counts).flatten().tolist()
            ids = tokenizer.convert_tokens_to_ids([sid_token(level, c) for c in used])
            means = sums[used] / counts[used, None]
            for table in tables:
                table[torch.tensor(ids, device=table.device)] = means.to(table.device, table.dtype)
            done += len(used)
    return done


def build_trie(tokenizer: Any, sids: SidIndex):
    """recforge.decode.ItemTrie over every catalogue item's SID token ids (without the markers)."""
    from recforge.decode import ItemTrie, sid_sequences

    return ItemTrie.build(sid_sequences(tokenizer, sids.codes), list(sids.item_ids))
