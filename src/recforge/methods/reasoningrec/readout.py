"""P(Yes) at the prediction slot: the prompt's assistant turn is prefilled with "Prediction:", and the
next-token logits of the two answer tokens (" Yes", " No": one token each in SmolLM2's and Llama's
vocabularies) go through one softmax over the two: P(Yes) = exp(l_yes) / (exp(l_yes) + exp(l_no)) =
sigmoid(l_yes - l_no). No sampling and no parsing of generated text. A tokenizer that writes an answer
in several tokens (the tiny model's small BPE) gets the same softmax over the two answers' summed
token log-probabilities, scored by teacher forcing.

The seed instead took softmax over the whole vocabulary, then a second softmax of the two
probabilities (monotone in p_yes - p_no, not in p_yes / (p_yes + p_no)), at the first Yes/No the model
happened to generate (seed notes 3.8)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

PREFILL = "Prediction:"
ANSWERS = (" Yes", " No")


def answer_token_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The token ids of " Yes" and " No" (one each for a real chat model's vocabulary)."""
    yes, no = (tokenizer(word, add_special_tokens=False)["input_ids"] for word in ANSWERS)
    if yes == no or not yes or not no:
        raise ValueError(f"the tokenizer cannot tell {ANSWERS} apart: {yes} vs {no}")
    return yes, no


def p_yes(logits: np.ndarray, yes: int, no: int) -> np.ndarray:
    """Rows of next-token logits (n, vocab) -> P(Yes) from the softmax over the two answer tokens."""
    logits = np.asarray(logits, dtype="float64")
    diff = logits[:, yes] - logits[:, no]
    return np.array([1.0 / (1.0 + math.exp(-d)) if d >= 0 else math.exp(d) / (1.0 + math.exp(d)) for d in diff])


def length_sorted_batches(model: Any, tokenizer: Any, prompts: Sequence[str], batch_size: int,
                          desc: str) -> Iterator[tuple[np.ndarray, Any]]:
    """(indices into `prompts`, left-padded batch on the model's device) for batches of prompts of
    similar length (sorted by token count: left padding to a long neighbour costs a forward pass over
    the padding), so the last position of every row is its prompt's last token."""
    tokenizer.padding_side = "left"
    device = next(model.parameters()).device
    encoded = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    order = np.argsort([len(ids) for ids in encoded], kind="stable")
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc=desc, unit="batch", mininterval=30, disable=len(starts) < 2):
        idx = order[start : start + batch_size]
        yield idx, tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt").to(device)


def slot_probabilities(model: Any, tokenizer: Any, prompts: Sequence[str], batch_size: int) -> np.ndarray:
    """P(Yes) for each full prompt text (chat template + "Prediction:"), in the order given, from the
    logits of the last position only (a 49k vocabulary makes full logits large)."""
    import torch

    yes, no = answer_token_ids(tokenizer)
    out = np.zeros(len(prompts))
    with torch.no_grad():
        for idx, batch in length_sorted_batches(model, tokenizer, prompts, batch_size, "P(Yes)"):
            if len(yes) == len(no) == 1:
                logits = model(**batch, logits_to_keep=1).logits[:, -1, :]
                out[idx] = p_yes(logits[:, [yes[0], no[0]]].float().cpu().numpy(), 0, 1)
            else:
                scores = np.stack([_sequence_logprob(model, batch, ids) for ids in (yes, no)], axis=1)
                out[idx] = p_yes(scores, 0, 1)
    return out


def _sequence_logprob(model: Any, batch: Any, ids: list[int]) -> np.ndarray:
    """Summed log-probabilities of the answer tokens `ids` after each (left-padded) prompt."""
    import torch

    answer = torch.tensor(ids, device=batch["input_ids"].device).expand(len(batch["input_ids"]), -1)
    input_ids = torch.cat([batch["input_ids"], answer], dim=1)
    mask = torch.cat([batch["attention_mask"], torch.ones_like(answer)], dim=1)
    logits = model(input_ids=input_ids, attention_mask=mask, logits_to_keep=len(ids) + 1).logits[:, :-1, :].float()
    return torch.log_softmax(logits, dim=-1).gather(2, answer.unsqueeze(-1)).squeeze(-1).sum(dim=1).cpu().numpy()
