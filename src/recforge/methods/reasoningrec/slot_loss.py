"""The answer-weighted SFT loss (`sft.slot_weight`): per training example, slot_weight x the NLL of the
answer token at the prediction slot + (1 - slot_weight) x the mean NLL of the completion's other tokens;
the loss of a batch is the mean over its examples.

Why: TRL's loss is the mean over every completion token of the batch, so with the reasoning in the
completion (about 100-120 tokens under SmolLM2's tokenizer on BeautyRR) the one token read at test
weighs about 1% of an example's loss (and long rationales outweigh short ones), against 1/6 in the
ablation's completion (`Prediction: Yes` and the end-of-turn tokens: 6 tokens). Not in the paper
(plain SFT; null keeps TRL's loss). Written by hand: TRL weighs completion tokens uniformly (or by
their probability, DFT) and has no per-token weights.
"""

from __future__ import annotations

from typing import Any

import torch


def slot_positions(labels: torch.Tensor, answer_ids: torch.Tensor) -> torch.Tensor:
    """labels (B, T) with -100 outside the completion -> (B,) index of each row's slot in the shifted
    labels (position t scores token t + 1): the first labelled answer token, -1 where a row has none
    (a completion truncated away). The predfirst completion starts `Prediction: Yes|No`, so the first
    " Yes"/" No" among its tokens is the answer."""
    shifted = labels[:, 1:]
    is_answer = torch.isin(shifted, answer_ids) & (shifted != -100)
    return torch.where(is_answer.any(dim=1), is_answer.int().argmax(dim=1), -1)


def slot_weighted_loss(nll: torch.Tensor, mask: torch.Tensor, slots: torch.Tensor, weight: float) -> torch.Tensor:
    """nll, mask (B, T-1) over the shifted labels, slots (B,) from slot_positions -> the mean over rows of
    weight x nll[slot] + (1 - weight) x mean(nll over the row's other labelled positions). A row without
    a slot is its token mean; a row whose only labelled token is the slot is that token's NLL."""
    rows = torch.arange(nll.size(0), device=nll.device)
    has_slot = slots >= 0
    at_slot = torch.zeros_like(mask, dtype=torch.bool)
    at_slot[rows[has_slot], slots[has_slot]] = True
    rest = mask & ~at_slot
    rest_count = rest.sum(dim=1)
    rest_mean = (nll * rest).sum(dim=1) / rest_count.clamp(min=1)
    slot_nll = (nll * at_slot).sum(dim=1)
    # no slot: weight 0, so the row is the mean over all its labelled tokens (rest is all of them)
    w = torch.where(has_slot, torch.where(rest_count > 0, weight, 1.0), 0.0).to(nll.dtype)
    return (w * slot_nll + (1 - w) * rest_mean).mean()


def slot_weighted_trainer(weight: float, answer_ids: list[int]) -> type:
    """An SFTTrainer subclass whose training loss is slot_weighted_loss (TRL's fused LM head gives the
    per-token log-probabilities without building the logits)."""
    from trl import SFTTrainer

    ids = torch.tensor(sorted(set(answer_ids)))

    class SlotWeightedSFTTrainer(SFTTrainer):
        # A per-micro-batch mean over examples: transformers divides it by the accumulation steps.
        loss_is_scaled_for_ga = False

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            outputs = model(**inputs, use_cache=False, fused_lm_head=True)
            slots = slot_positions(inputs["labels"], ids.to(inputs["labels"].device))
            loss = slot_weighted_loss(-outputs.log_probs, outputs.label_mask, slots, weight)
            mode = "train" if model.training else "eval"
            found = slots >= 0
            if found.any():  # the slot's own NLL, logged beside the loss (how well the answer is learnt)
                slot_nll = -outputs.log_probs[found, slots[found]]
                self._metrics[mode]["slot_nll"].append(slot_nll.detach().mean().item())
            return (loss, outputs) if return_outputs else loss

    return SlotWeightedSFTTrainer
