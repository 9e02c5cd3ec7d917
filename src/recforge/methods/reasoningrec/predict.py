"""CTR predictions (the evaluator's `ctr` schema: P(Yes) per sample) from a model at the prediction
slot, timed, plus the cost of generating the reasoning too (greedy, on a few test prompts): the
answer-first format makes the reasoning optional at inference."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from recforge.methods.reasoningrec.config import PredictSettings
from recforge.methods.reasoningrec.prompts import slot_prompt
from recforge.methods.reasoningrec.readout import slot_probabilities


def load(path: str, dtype: str, attn_implementation: str) -> tuple[Any, Any]:
    from recforge.models.loading import load_causal_lm
    from recforge.models.tiny import resolve_device

    return load_causal_lm(path, dtype=dtype, attn_implementation=attn_implementation, device=resolve_device("auto"))


def generation_cost(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int) -> dict[str, Any]:
    """Greedy generation after "Prediction:" (the answer and the reasoning), one prompt at a time."""
    import torch

    if not prompts:
        return {"n": 0}
    device = next(model.parameters()).device
    new_tokens, started = [], time.perf_counter()
    with torch.no_grad():
        for text in prompts:
            batch = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(device)
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
            new_tokens.append(int(out.shape[1] - batch["input_ids"].shape[1]))
    seconds = time.perf_counter() - started
    return {"n": len(prompts), "seconds": round(seconds, 3), "predictions_per_s": round(len(prompts) / seconds, 4),
            "mean_generated_tokens": round(float(np.mean(new_tokens)), 2)}


def predict(model_path: str, load_settings: dict, prompts: pd.DataFrame, settings: PredictSettings
            ) -> tuple[pd.DataFrame, dict[str, Any]]:
    model, tokenizer = load(model_path, load_settings["dtype"], load_settings["attn_implementation"])
    rows = prompts[prompts["split"].isin(list(settings.splits))].reset_index(drop=True)
    texts = [slot_prompt(tokenizer, r) for r in rows.itertuples()]
    started = time.perf_counter()
    probs = slot_probabilities(model, tokenizer, texts, settings.batch_size)
    seconds = time.perf_counter() - started
    prompt_tokens = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    test = [t for t, s in zip(texts, rows["split"]) if s == "test"][: settings.reasoning_samples]
    frame = pd.DataFrame({"sample_id": rows["sample_id"].astype(str), "split": rows["split"].astype(str),
                          "probability": probs.astype("float64")})
    cost = {
        "slot": {"n": len(texts), "seconds": round(seconds, 3), "predictions_per_s": round(len(texts) / seconds, 3),
                 "mean_prompt_tokens": round(float(np.mean(prompt_tokens)), 2), "generated_tokens": 0,
                 "batch_size": settings.batch_size},
        "with_reasoning": {**generation_cost(model, tokenizer, test, settings.max_new_tokens),
                           "max_new_tokens": settings.max_new_tokens, "batch_size": 1},
    }
    return frame, cost
