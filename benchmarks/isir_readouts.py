"""Readouts beyond predict.READOUTS, scored on the valid rows of an answer-only isir model (test is never
read): each family's best member by choose_readout's criterion (the worse of the MAE and RMSE skills
over the best constant). The evidence that the shipped blend grid is not what holds the students
behind gbdt (docs/benchmarks.md, Seed 000).

- `shipped`: predict.READOUTS, as `readout: auto` chooses among them;
- `huber:D`: per row, the rating that minimises the expected Huber loss (delta D) under the model's
  distribution, between the median (D -> 0) and the mean (D -> inf), as gbdt's objective is;
- `temperature:T`: the distribution sharpened (T < 1) or flattened, then the shipped readouts;
- `prior:A`: the distribution reweighted by (valid label share / student's train label share) ** A,
  the textbook label-shift correction (train rows hold fewer 5s than the last events do); the train
  shares are the first `--model`'s, from its stage report.

Several `--model`s average their distributions (an ensemble of students).

    python benchmarks/isir_readouts.py --results results/Movies --model results/Movies/isir/student_align/model
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from recforge.methods.isir.predict import (best_constant_errors, choose_readout, load_for_inference,
                                           prediction_skill, rating_distribution, rating_values)


def huber_point(dist: np.ndarray, values: np.ndarray, delta: float, iterations: int = 60) -> np.ndarray:
    """argmin_c sum_v p_v huber_delta(c - v) per row, by bisection on its derivative (non-decreasing in c)."""
    low, high = np.full(len(dist), values.min()), np.full(len(dist), values.max())
    for _ in range(iterations):
        mid = (low + high) / 2
        slope = (dist * np.clip(mid[:, None] - values[None, :], -delta, delta)).sum(axis=1)
        low, high = np.where(slope < 0, mid, low), np.where(slope < 0, high, mid)
    return (low + high) / 2


def scored(pred: np.ndarray, labels: np.ndarray, kind: str = "") -> tuple[float, float, float, str]:
    s = prediction_skill(pred, labels, best_constant_errors(labels))
    return s["skill"], s["mae"], s["rmse"], kind


def best_shipped(dist: np.ndarray, values: np.ndarray, labels: np.ndarray) -> tuple[float, float, float, str]:
    """What `readout: auto` would pick on these rows (choose_readout), with its scores."""
    kind, scores = choose_readout(dist, labels, values)
    return scores[kind]["skill"], scores[kind]["mae"], scores[kind]["rmse"], kind


def student_label_shares(model: str, values: np.ndarray) -> np.ndarray:
    """The labels the student trained on, from its stage report (student_*/report.json beside model/)."""
    counts = json.loads((Path(model).parent / "report.json").read_text())["mask"]["student_labels"]
    shares = np.array([counts.get(f"{v:g}", 0) for v in values], dtype=np.float64)
    return shares / shares.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--model", required=True, action="append")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = pd.read_parquet(f"{args.results}/isir/verl/val.parquet")
    values = np.asarray(rating_values(rows), dtype=np.float64)
    load = {"dtype": "float32", "attn_implementation": "sdpa", "device": "cpu"}
    dists = [rating_distribution(*load_for_inference(m, load), rows, values, 64)[0] for m in args.model]
    dist = np.mean(dists, axis=0)
    labels = rows["label"].to_numpy(dtype=np.float64)
    reference = best_constant_errors(labels)
    lines = [("shipped", best_shipped(dist, values, labels))]
    for delta in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0):
        lines.append((f"huber:{delta:g}", scored(huber_point(dist, values, delta), labels)))
    label_index = np.searchsorted(values, labels)
    nll = {}
    for temperature in (0.8, 0.9, 1.0, 1.1, 1.25):
        sharpened = dist ** (1 / temperature)
        sharpened /= sharpened.sum(axis=1, keepdims=True)
        nll[temperature] = float(-np.log(sharpened[np.arange(len(labels)), label_index]).mean())
        if temperature != 1.0:
            lines.append((f"temperature:{temperature:g}", best_shipped(sharpened, values, labels)))
    ratio = np.array([(labels == v).mean() for v in values]) / student_label_shares(args.model[0], values)
    for power in (0.5, 1.0):
        shifted = dist * ratio ** power
        lines.append((f"prior:{power:g}",
                      best_shipped(shifted / shifted.sum(axis=1, keepdims=True), values, labels)))
    print(f"{len(labels)} valid rows; best constant MAE {reference['mae']:.4f}, RMSE {reference['rmse']:.4f}")
    for name, (worse, mae, rmse, kind) in lines:
        print(f"{name:16s} {kind:11s} skill {worse:+.4f}  MAE {mae:.4f}  RMSE {rmse:.4f}")
    print("valid NLL by temperature (calibrated where 1 is lowest):",
          {t: round(v, 4) for t, v in nll.items()})


if __name__ == "__main__":
    main()
