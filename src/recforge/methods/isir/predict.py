"""Rating predictions from a seed-000 model: with reasoning (the GRPO teacher) or answer-only (after an
empty think block), in the evaluator's `rating` schema, timed.

Ratings are read from the model's distribution over the dataset's valid ratings (its
rating scale, carried by the verl rows) at "<answer>": one forward pass when every rating is one token
("1".."5"), else each rating's tokens scored up to "</answer>"; with reasoning, at the "<answer>" after
the model's own thinking. `argmax` is what greedy decoding writes
(the paper's readout);
`expected` and `median` minimise the expected squared and absolute error; `auto` picks, on the valid
rows, the readout that is best at both errors at once (choose_readout) and applies it to every row.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from recforge.data.scale import RatingScale
from recforge.methods.isir.chat import answer_only_prompt, cot_prompt, split_thinking, teacher_state_text
from recforge.methods.isir.prompts import rating_text
from recforge.methods.isir.generate import Generations, greedy_generate
from recforge.methods.isir.reward import parse_rating
from recforge.methods.isir.verl import rows_scale
from recforge.models.tokens import ANSWER_END
from recforge.text.outputs import parse_answer

log = logging.getLogger(__name__)


def load_for_inference(path: str, load: dict[str, str]) -> tuple[Any, Any]:
    """`load`: dtype, attn_implementation, device ("auto": cuda when the job has a GPU)."""
    from recforge.models.loading import load_causal_lm
    from recforge.models.tiny import resolve_device

    return load_causal_lm(
        path, dtype=load["dtype"], attn_implementation=load["attn_implementation"], device=resolve_device(load["device"])
    )


def cot_generate(
    model: Any, tokenizer: Any, rows: pd.DataFrame, max_new_tokens: int, batch_size: int
) -> Generations:
    prompts = [cot_prompt(tokenizer, p) for p in rows["prompt"]]
    return greedy_generate(model, tokenizer, prompts, max_new_tokens, batch_size, desc="reasoning")


def answer_only_generate(model: Any, tokenizer: Any, rows: pd.DataFrame, batch_size: int) -> Generations:
    prompts = [answer_only_prompt(tokenizer, p) for p in rows["prompt"]]
    return greedy_generate(model, tokenizer, prompts, 1, batch_size, desc="answer-only")


def cot_ratings(texts: list[str], scale: RatingScale = RatingScale()) -> np.ndarray:
    return np.array([parse_rating(parse_answer(t), scale) for t in texts], dtype="float64")


def answer_only_ratings(texts: list[str], scale: RatingScale = RatingScale()) -> np.ndarray:
    """The generated answer as a rating; NaN (invalid, scored with the evaluator's fallback) when it
    is not a number. The paper mapped invalid outputs to 5.0 silently."""
    return np.array([parse_rating(t, scale) for t in texts], dtype="float64")


def prediction_table(rows: pd.DataFrame, predictions: np.ndarray, texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample_id": rows["sample_id"].astype(str).to_numpy(),
            "split": rows["split"].astype(str).to_numpy(),
            "prediction": predictions,
            "raw_output": texts,
        }
    )


def efficiency(gen: Generations, predictions: np.ndarray) -> dict[str, Any]:
    """Throughput and token counts of one prediction run (same machine for every variant)."""
    n = len(gen.texts)
    return {
        "n": n,
        "seconds": round(gen.seconds, 3),
        "predictions_per_s": round(gen.per_second, 3),
        "mean_prompt_tokens": round(float(np.mean(gen.prompt_tokens)), 2) if n else math.nan,
        "mean_generated_tokens": round(float(np.mean(gen.new_tokens)), 3) if n else math.nan,
        "invalid_rate": round(float(np.isnan(predictions).mean()), 4) if n else math.nan,
    }


# ------------------------------------------------------------------------------ distribution readout
# "blend:W" is W * median + (1 - W) * expected: the median minimises expected absolute error, the mean
# expected squared error, and a blend trades one for the other. `auto` tries these weights only (a
# coarse grid, so that valid chooses among few candidates).
READOUTS = ("argmax", "expected", "median", "blend:0.25", "blend:0.5", "blend:0.75")


def rating_token_ids(tokenizer: Any, values: Sequence[float]) -> list[list[int]]:
    """The tokens that write each rating value ("5", "4.5")."""
    return [tokenizer(rating_text(v), add_special_tokens=False)["input_ids"] for v in values]


def _value_scores(model: Any, batch: Any, pieces: list[list[int]], end: list[int]) -> Any:
    """Scores over the values (softmax gives P(value)) for one left-padded batch of answer-only prompts.

    One token per value: the next-token logits at "<answer>" restricted to them (one forward pass; the
    paper's greedy readout is its argmax). Several ("4.5" after "4"): each value's tokens and
    "</answer>" scored by teacher forcing, one pass per value; the closing tag tells "4" from the "4"
    that starts "4.5"."""
    import torch

    if all(len(p) == 1 for p in pieces):
        return model(**batch).logits[:, -1, :].float()[:, [p[0] for p in pieces]]
    scores = []
    for ids in pieces:
        ending = torch.tensor(ids + end, device=batch["input_ids"].device).expand(len(batch["input_ids"]), -1)
        input_ids = torch.cat([batch["input_ids"], ending], dim=1)
        mask = torch.cat([batch["attention_mask"], torch.ones_like(ending)], dim=1)
        logits = model(input_ids=input_ids, attention_mask=mask).logits[:, -ending.shape[1] - 1 : -1, :].float()
        scores.append(torch.log_softmax(logits, dim=-1).gather(2, ending.unsqueeze(-1)).squeeze(-1).sum(dim=1))
    return torch.stack(scores, dim=1)


def rating_distribution(model: Any, tokenizer: Any, rows: pd.DataFrame, values: Sequence[float],
                        batch_size: int) -> tuple[np.ndarray, Generations]:
    """P(rating | answer-only prompt) over `values`, normalised over them (_value_scores; no
    generation). Also the timing, as Generations."""
    return value_distribution(model, tokenizer, [answer_only_prompt(tokenizer, p) for p in rows["prompt"]],
                              values, batch_size)


def cot_distribution(model: Any, tokenizer: Any, rows: pd.DataFrame, gen: Generations, values: Sequence[float],
                     batch_size: int) -> tuple[np.ndarray, Generations]:
    """P(rating) at the "<answer>" that follows each completion's own reasoning (the text the teacher's
    hidden state is read from: prompt + thinking + "<answer>"), so that a reasoning model's rating is
    read as the answer-only student's is. `gen` is the reasoning run; the returned timing adds the
    readout's forward passes to it."""
    prompts = [teacher_state_text(tokenizer, p, split_thinking(t) or "") for p, t in zip(rows["prompt"], gen.texts)]
    dist, scored = value_distribution(model, tokenizer, prompts, values, batch_size)
    return dist, Generations(gen.texts, gen.new_tokens, gen.prompt_tokens, gen.seconds + scored.seconds)


def value_distribution(model: Any, tokenizer: Any, prompts: Sequence[str], values: Sequence[float],
                       batch_size: int) -> tuple[np.ndarray, Generations]:
    """P(value | prompt ending at "<answer>") for every prompt, normalised over `values`."""
    import time

    import torch

    pieces = rating_token_ids(tokenizer, values)
    end = tokenizer(ANSWER_END, add_special_tokens=False)["input_ids"]
    tokenizer.padding_side = "left"
    device = next(model.parameters()).device
    probs, lengths, start = [], [], time.perf_counter()
    with torch.inference_mode():
        for lo in range(0, len(prompts), batch_size):
            batch = tokenizer(prompts[lo: lo + batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=False).to(device)
            probs.append(torch.softmax(_value_scores(model, batch, pieces, end), dim=-1).cpu().numpy())
            lengths += batch["attention_mask"].sum(dim=1).tolist()
    seconds = time.perf_counter() - start
    dist = np.concatenate(probs) if probs else np.zeros((0, len(values)))
    texts = [rating_text(values[i]) for i in dist.argmax(axis=1)] if len(dist) else []
    return dist, Generations(texts, [1] * len(texts), lengths, seconds)


def read_ratings(dist: np.ndarray, values: Sequence[float], kind: str) -> np.ndarray:
    """One rating per row from its distribution: `argmax` (the most likely value, what greedy decoding
    writes), `expected` (the mean: minimises expected squared error), `median` (the smallest value
    whose cumulative probability reaches 1/2: minimises expected absolute error), `blend:W`
    (W * median + (1 - W) * expected, 0 <= W <= 1)."""
    values = np.asarray(values, dtype=np.float64)
    if kind.startswith("blend:"):
        weight = float(kind.split(":", 1)[1])
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"readout {kind!r}: the weight must be in [0, 1]")
        return weight * read_ratings(dist, values, "median") + (1 - weight) * read_ratings(dist, values, "expected")
    if kind == "argmax":
        return values[dist.argmax(axis=1)]
    if kind == "expected":
        return dist @ values
    if kind == "median":
        order = np.argsort(values)
        cumulative = np.cumsum(dist[:, order], axis=1)
        return values[order][np.argmax(cumulative >= 0.5 - 1e-12, axis=1)]
    raise ValueError(f"unknown readout {kind!r}; known: {list(READOUTS)}")


def best_constant_errors(labels: np.ndarray) -> dict[str, float]:
    """MAE and RMSE of the best constant predictions on these rows: their median and their mean."""
    return {"mae": float(np.abs(labels - np.median(labels)).mean()), "rmse": float(labels.std())}


def prediction_skill(predictions: np.ndarray, labels: np.ndarray, reference: dict[str, float]) -> dict[str, float]:
    """MAE, RMSE and the worse of their skills over the best constant's (`reference`,
    best_constant_errors): 1 - error / the constant's (0: no better than a constant, 1: exact)."""
    error = predictions - labels
    mae, rmse = float(np.abs(error).mean()), float(np.sqrt((error ** 2).mean()))
    skill = min(1 - mae / max(reference["mae"], 1e-12), 1 - rmse / max(reference["rmse"], 1e-12))
    return {"mae": mae, "rmse": rmse, "skill": skill}


def choose_readout(dist: np.ndarray, labels: np.ndarray, values: Sequence[float]) -> tuple[str, dict]:
    """The readout with the highest worse-of-two skill on these (valid) rows, and every readout's scores.

    A readout is scored by the lower of its MAE and RMSE skills (prediction_skill). One prediction per
    row must serve both errors, as the targets ask (beat the trivial references on each): a sum of the two errors
    let valid pick a readout near the median, lowest MAE and an RMSE far above the mean's."""
    reference = best_constant_errors(labels)
    scores = {kind: prediction_skill(read_ratings(dist, values, kind), labels, reference) for kind in READOUTS}
    best = max(READOUTS, key=lambda k: (scores[k]["skill"], -READOUTS.index(k)))
    return best, scores


def readout_report(rows: pd.DataFrame, dist: np.ndarray, values: Sequence[float], readout: str) -> dict:
    """The readout to use (`auto`: chosen on the valid rows) and every readout's valid scores."""
    valid = (rows["split"].to_numpy() == "valid") & rows["label"].notna().to_numpy()
    if not valid.any():
        if readout == "auto":
            raise ValueError("readout auto chooses on valid rows: add valid to predict.splits")
        return {"readout": readout}
    labels = rows["label"].to_numpy(dtype=np.float64)[valid]
    best, scores = choose_readout(dist[valid], labels, values)
    return {"readout": best if readout == "auto" else readout, "valid_scores": scores,
            "valid_best_constant": best_constant_errors(labels),
            "valid_mean_distribution": {rating_text(v): float(dist[valid][:, i].mean()) for i, v in enumerate(values)}}


def rating_values(rows: pd.DataFrame) -> list[float]:
    """The rating values a readout chooses among: every valid rating of the scale the verl rows carry
    (on Amazon's 1-5 the training labels' values, as before; on half stars 0.5, 1.0, ..., 5.0)."""
    return rows_scale(rows).values()
