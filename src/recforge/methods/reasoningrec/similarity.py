"""How close generated reasoning is to the teacher's: BERTScore's greedy token matching (Zhang et al.,
ICLR 2020) on a packaged sentence encoder's contextual token vectors (MiniLM by default), without idf
weighting or baseline rescaling. Written here because the `bert-score` package downloads its models from
the hub; the matching itself is a few lines. Reported next to the test metrics, never used for selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def greedy_match(candidate: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, F1) of two texts' unit token vectors (rows): precision averages each
    candidate token's best cosine against the reference, recall the other way round."""
    if len(candidate) == 0 or len(reference) == 0:
        return 0.0, 0.0, 0.0
    cosine = candidate @ reference.T
    precision, recall = float(cosine.max(axis=1).mean()), float(cosine.max(axis=0).mean())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def token_vectors(model: Any, texts: Sequence[str]) -> list[np.ndarray]:
    """Unit contextual token vectors of each text, without the [CLS]/[SEP] rows (as BERTScore)."""
    out = []
    for tokens in model.encode(list(texts), output_value="token_embeddings", convert_to_numpy=False):
        vectors = tokens.float().cpu().numpy()[1:-1]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out.append(vectors / np.maximum(norms, 1e-12))
    return out


def reasoning_similarity(model: Any, generated: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean precision/recall/F1 over pairs (generated[i], references[i])."""
    if not generated:
        return {"n": 0}
    scores = np.array([greedy_match(c, r) for c, r in zip(token_vectors(model, generated), token_vectors(model, references))])
    precision, recall, f1 = scores.mean(axis=0)
    return {"n": len(generated), "precision": round(float(precision), 4), "recall": round(float(recall), 4),
            "f1": round(float(f1), 4)}
