"""P(Yes) at the prediction slot: the prompt's assistant turn is prefilled with "Prediction:", and the
next-token logits of the two answer tokens (" Yes", " No": one token each in the chat model's
vocabulary) go through one softmax over the two: P(Yes) = exp(l_yes) / (exp(l_yes) + exp(l_no)) =
sigmoid(l_yes - l_no). No sampling and no parsing of generated text.

The seed instead took softmax over the whole vocabulary, then a second softmax of the two
probabilities (monotone in p_yes - p_no, not in p_yes / (p_yes + p_no)), at the first Yes/No the model
happened to generate (seed notes 3.8)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PREFILL = "Prediction:"
ANSWERS = (" Yes", " No")


def answer_token_ids(tokenizer: Any) -> tuple[int, int]:
    """The single token ids of " Yes" and " No" (an error when either takes several tokens)."""
    ids = []
    for word in ANSWERS:
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(pieces) != 1:
            raise ValueError(f"{word!r} is {len(pieces)} tokens for this tokenizer; the readout needs one")
        ids.append(pieces[0])
    return ids[0], ids[1]


def p_yes(logits: np.ndarray, yes: int, no: int) -> np.ndarray:
    """Rows of next-token logits (n, vocab) -> P(Yes) from the softmax over the two answer tokens."""
    logits = np.asarray(logits, dtype="float64")
    diff = logits[:, yes] - logits[:, no]
    return np.array([1.0 / (1.0 + math.exp(-d)) if d >= 0 else math.exp(d) / (1.0 + math.exp(d)) for d in diff])


def slot_probabilities(model: Any, tokenizer: Any, prompts: Sequence[str], batch_size: int) -> np.ndarray:
    """P(Yes) for each full prompt text (chat template + "Prediction:"), left-padded batches, the logits
    of the last position only (a 49k vocabulary makes full logits large)."""
    import torch

    yes, no = answer_token_ids(tokenizer)
    tokenizer.padding_side = "left"
    device = next(model.parameters()).device
    out, started, every = [], time.perf_counter(), max(1, 100 // batch_size)
    with torch.no_grad():
        for n, start in enumerate(range(0, len(prompts), batch_size)):
            if n and n % every == 0:
                log.info("P(Yes): %d/%d prompts, %.1f s", start, len(prompts), time.perf_counter() - started)
            batch = tokenizer(list(prompts[start : start + batch_size]), return_tensors="pt", padding=True,
                              add_special_tokens=False).to(device)
            logits = model(**batch, logits_to_keep=1).logits[:, -1, :]
            out.append(p_yes(logits[:, [yes, no]].float().cpu().numpy(), 0, 1))
    return np.concatenate(out) if out else np.zeros(0)
