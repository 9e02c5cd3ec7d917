"""The one registry of tokens RecForge adds to a tokenizer, and the one rule for adding them.

The rule (tested in tests/test_models_tokens.py):
- Every token RecForge adds is an `AddedToken(t, special=False, normalized=False)`. Non-special,
  because TRL's GRPO decodes completions with skip_special_tokens=True before the reward function sees
  them: a special `<answer>` or SID token would vanish from the text the reward parses. Not
  normalised, so no normaliser lower-cases or splits it; it always encodes to exactly one id.
- Only the chat-control tokens of the tiny tokenizer (`<|endoftext|>`, `<|im_start|>`, `<|im_end|>`)
  are special: they frame turns and should disappear from decoded answers.
- Embeddings are resized to the new vocabulary (optionally padded to a multiple) and each new row is
  initialised to the mean of the embeddings of the pieces the token's string had before it was added
  ("<answer>" starts as the mean of "<", "answer", ">"), in both input and (untied) output embeddings.
  A new token thus starts near the meaning of its own text instead of at a random or global-mean point,
  which keeps the first training steps stable. Rows for a string that had no pieces fall back to the
  mean of all existing rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

THINK_START, THINK_END = "<think>", "</think>"
ANSWER_START, ANSWER_END = "<answer>", "</answer>"
ITEM_START, ITEM_END = "<SOI>", "<EOI>"  # RecLM (seed 001): an item title inside a generated list

STRUCTURAL_TOKENS: tuple[str, ...] = (THINK_START, THINK_END, ANSWER_START, ANSWER_END, ITEM_START, ITEM_END)

# Chat control tokens of the tiny model's ChatML template (Qwen3 uses the same strings).
END_OF_TEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
CHAT_SPECIAL_TOKENS: tuple[str, ...] = (END_OF_TEXT, IM_START, IM_END)

# Semantic IDs (seed 002 official naming): <|sid_begin|><s_a_12><s_b_3><s_c_250><s_d_7><|sid_end|>.
SID_BEGIN, SID_END = "<|sid_begin|>", "<|sid_end|>"


def sid_token(level: int, code: int) -> str:
    if not 0 <= level < 26 or code < 0:
        raise ValueError(f"bad semantic-ID position level={level} code={code}")
    return f"<s_{chr(ord('a') + level)}_{code}>"


def sid_tokens(n_levels: int, codebook_size: int) -> list[str]:
    """The begin/end markers and every level/code token, in a fixed order (ids are then stable)."""
    return [SID_BEGIN, SID_END] + [
        sid_token(level, code) for level in range(n_levels) for code in range(codebook_size)
    ]


def added_token(text: str) -> Any:
    from tokenizers import AddedToken

    return AddedToken(text, special=False, normalized=False, single_word=False, lstrip=False, rstrip=False)


def add_tokens(
    tokenizer: Any,
    tokens: Iterable[str],
    model: Any | None = None,
    pad_to_multiple_of: int | None = None,
) -> list[int]:
    """Add `tokens` (skipping those already known) by the rule above; resize and initialise `model`'s
    embeddings if given. Returns the ids of the tokens that were new."""
    vocab = tokenizer.get_vocab()
    new = [t for t in dict.fromkeys(tokens) if t not in vocab]
    if not new:
        return []
    # Pieces under the tokenizer as it was, for the embedding initialisation.
    pieces = {t: tokenizer.encode(t, add_special_tokens=False) for t in new}
    tokenizer.add_tokens([added_token(t) for t in new])
    ids = tokenizer.convert_tokens_to_ids(new)
    if model is not None:
        _resize_and_init(model, len(tokenizer), [pieces[t] for t in new], ids, pad_to_multiple_of)
    log.info("added %d tokens (%s ... %s), vocabulary now %d", len(new), new[0], new[-1], len(tokenizer))
    return list(ids)


def _resize_and_init(
    model: Any,
    size: int,
    pieces: Sequence[Sequence[int]],
    ids: Sequence[int],
    pad_to_multiple_of: int | None,
) -> None:
    import torch

    old_rows = model.get_input_embeddings().weight.shape[0]
    if size > old_rows or pad_to_multiple_of:
        model.resize_token_embeddings(
            max(size, old_rows), pad_to_multiple_of=pad_to_multiple_of, mean_resizing=False
        )
    tables = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None and output.weight.data_ptr() != tables[0].data_ptr():
        tables.append(output.weight)  # untied head: initialise its rows the same way
    with torch.no_grad():
        for table in tables:
            fallback = table[: min(old_rows, table.shape[0])].mean(dim=0)
            for token_id, token_pieces in zip(ids, pieces):
                known = [p for p in token_pieces if p < old_rows]
                table[token_id] = table[known].mean(dim=0) if known else fallback
            # Padding rows past the tokenizer are never real tokens; give them a neutral value too.
            table[size:] = fallback
