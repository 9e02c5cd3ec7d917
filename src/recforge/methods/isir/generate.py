"""Batched greedy generation with the decoding knobs explicit, timed for the efficiency figures."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm


@dataclass
class Generations:
    texts: list[str]
    new_tokens: list[int]  # generated tokens per prompt, up to and including the stop token
    prompt_tokens: list[int]
    seconds: float

    @property
    def per_second(self) -> float:
        return len(self.texts) / self.seconds if self.seconds > 0 else float("nan")


def greedy_generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    max_new_tokens: int,
    batch_size: int,
    desc: str = "generate",
) -> Generations:
    """Greedy decoding (do_sample=False), left padding, stopping at the model's eos ids. Prompts are
    already rendered text (chat template applied); no special tokens are added again."""
    tokenizer.padding_side = "left"
    eos = model.generation_config.eos_token_id or tokenizer.eos_token_id
    texts: list[str] = []
    new_tokens: list[int] = []
    prompt_tokens: list[int] = []
    eos_ids = set(eos if isinstance(eos, list) else [eos])
    device = next(model.parameters()).device
    start = time.perf_counter()
    with torch.inference_mode():
        for lo in tqdm(range(0, len(prompts), batch_size), desc=desc, mininterval=10):
            batch = tokenizer(
                list(prompts[lo : lo + batch_size]),
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            )
            batch = batch.to(device)
            out = model.generate(
                **batch,
                do_sample=False,
                num_beams=1,
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=list(eos_ids),
                temperature=None,
                top_p=None,
                top_k=None,
            )
            generated = out[:, batch["input_ids"].shape[1] :].tolist()
            for row, mask in zip(generated, batch["attention_mask"].tolist()):
                n = next((i + 1 for i, t in enumerate(row) if t in eos_ids), len(row))
                new_tokens.append(n)
                prompt_tokens.append(int(sum(mask)))
                texts.append(tokenizer.decode(row[:n], skip_special_tokens=True))
    return Generations(texts, new_tokens, prompt_tokens, time.perf_counter() - start)
