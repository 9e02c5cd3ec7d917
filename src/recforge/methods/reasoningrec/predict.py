"""CTR predictions (the evaluator's `ctr` schema: P(Yes) per sample) from a model at the prediction
slot, timed, plus the cost of generating the reasoning too (greedy, on a few test prompts): the
answer-first format makes the reasoning optional at inference. The generated reasoning is compared with
the teacher's on those prompts (reported, not used for selection)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from recforge.methods.platt import logit, platt
from recforge.methods.reasoningrec.config import PredictSettings
from recforge.methods.reasoningrec.prompts import reasoning_only, slot_prompt
from recforge.methods.reasoningrec.readout import PREFILL, slot_probabilities
from recforge.methods.reasoningrec.similarity import reasoning_similarity


def load(path: str, dtype: str, attn_implementation: str) -> tuple[Any, Any]:
    from recforge.models.loading import load_causal_lm
    from recforge.models.tiny import resolve_device

    return load_causal_lm(path, dtype=dtype, attn_implementation=attn_implementation, device=resolve_device("auto"))


def generate_reasoning(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int
                       ) -> tuple[dict[str, Any], list[str]]:
    """Greedy generation after "Prediction:" (the answer and the reasoning), one prompt at a time:
    (its cost, the reasoning of each prompt without the answer word)."""
    import torch

    if not prompts:
        return {"n": 0}, []
    device = next(model.parameters()).device
    new_tokens, texts, started = [], [], time.perf_counter()
    with torch.no_grad():
        for text in prompts:
            batch = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(device)
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
            new = out[0, batch["input_ids"].shape[1]:]
            new_tokens.append(int(len(new)))
            texts.append(reasoning_only(PREFILL + tokenizer.decode(new, skip_special_tokens=True)))
    seconds = time.perf_counter() - started
    cost = {"n": len(prompts), "seconds": round(seconds, 3), "predictions_per_s": round(len(prompts) / seconds, 4),
            "mean_generated_tokens": round(float(np.mean(new_tokens)), 2)}
    return cost, texts


def predict(model_path: str, load_settings: dict, prompts: pd.DataFrame, settings: PredictSettings,
            references: pd.DataFrame | None = None, encoder: Any = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """P(Yes) of every row of `settings.splits` (`p_yes`; `probability` is the same, or its Platt
    calibration on the valid rows), and the cost figures. The reasoning is generated for the
    test windows that `references` (teacher rationales: sample_id, reasoning) covers, at most
    `reasoning_samples` of them, and compared with the teacher's by `encoder` (reasoning_similarity)."""
    dtype = settings.dtype or load_settings["dtype"]
    model, tokenizer = load(model_path, dtype, load_settings["attn_implementation"])
    rows = prompts[prompts["split"].isin(list(settings.splits))].reset_index(drop=True)
    texts = [slot_prompt(tokenizer, r) for r in rows.itertuples()]
    started = time.perf_counter()
    probs = slot_probabilities(model, tokenizer, texts, settings.batch_size)
    seconds = time.perf_counter() - started
    prompt_tokens = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    test = rows["split"] == "test"
    if references is not None:
        teacher = dict(zip(references["sample_id"].astype(str), references["reasoning"]))
        test &= rows["sample_id"].astype(str).isin(teacher)
    chosen = list(np.flatnonzero(test.to_numpy())[: settings.reasoning_samples])
    frame = pd.DataFrame({"sample_id": rows["sample_id"].astype(str), "split": rows["split"].astype(str),
                          "probability": probs.astype("float64"), "p_yes": probs.astype("float64")})
    calibration = None
    if settings.calibration == "platt":
        frame["probability"], calibration = platt(logit(probs), rows["label"].to_numpy(),
                                                  (rows["split"] == "valid").to_numpy())
    with_reasoning, generated = generate_reasoning(model, tokenizer, [texts[i] for i in chosen], settings.max_new_tokens)
    if references is not None and encoder is not None:
        reference = [teacher[str(rows["sample_id"][i])] for i in chosen]
        with_reasoning["similarity_to_teacher"] = reasoning_similarity(encoder, generated, reference)
    cost = {
        "slot": {"n": len(texts), "seconds": round(seconds, 3), "predictions_per_s": round(len(texts) / seconds, 3),
                 "mean_prompt_tokens": round(float(np.mean(prompt_tokens)), 2), "generated_tokens": 0,
                 "batch_size": settings.batch_size, "dtype": dtype},
        "with_reasoning": {**with_reasoning, "max_new_tokens": settings.max_new_tokens, "batch_size": 1},
        "calibration": calibration,
    }
    return frame, cost
