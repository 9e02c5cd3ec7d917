"""The padding collator of the stages that train through transformers.Trainer on pre-tokenised
prompt/completion rows (OneRec-Think, RecLM-uni): TRL's collators pad, but their completion-only loss
cannot express the labels these stages set themselves (history SIDs, item spans)."""

from __future__ import annotations

IGNORE = -100


class PromptCompletionCollator:
    """Right-padded batches of `input_ids` and `labels`; pads are masked in the loss and the attention."""

    def __init__(self, pad_token_id: int):
        self.pad = pad_token_id

    def __call__(self, features: list[dict]) -> dict:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), self.pad, dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for n, f in enumerate(features):
            length = len(f["input_ids"])
            ids[n, :length] = torch.tensor(f["input_ids"])
            labels[n, :length] = torch.tensor(f["labels"])
            mask[n, :length] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}
