"""The shared tower: texts -> unit vectors, user profiles, and the contrastive loss.

`encode` runs the sentence-transformers model's own modules (its pooling included) and L2-normalises,
in training (with gradients) and in the caches (without): the seed trained with CLS pooling and cached
with mean pooling, so its caches did not hold what it trained. A user profile is the recency-weighted
mean of the interaction vectors of the user's `k_recent` most recent liked events before the target,
weights gamma^(L-1-i) (the most recent weighs 1), re-normalised; `profile_rows` is the one rule that
picks those events, for training, validation and the online scorer alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def encode(model, texts: Sequence[str], batch_size: int = 64, grad: bool = False) -> torch.Tensor:
    """[n, d] unit vectors of `texts` through the whole SentenceTransformer (tokenize, transformer,
    its pooling, its dense layers if any), in `texts` order. Texts are batched by length (less
    padding; the pooling masks padding, so a text's vector does not depend on its batch)."""
    device = model.device
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunks = []
    for start in range(0, len(order), batch_size):
        features = model.tokenize([texts[i] for i in order[start : start + batch_size]])
        features = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
        with torch.set_grad_enabled(grad):
            chunks.append(model(features)["sentence_embedding"])
    if not chunks:
        return torch.zeros((0, model.get_sentence_embedding_dimension()), device=device)
    inverse = torch.empty(len(order), dtype=torch.long, device=device)
    inverse[torch.as_tensor(order, device=device)] = torch.arange(len(order), device=device)
    return F.normalize(torch.cat(chunks).float(), dim=-1)[inverse]


def train_top_layers(model, n_layers: int | None) -> int:
    """Freeze the embeddings and all but the top `n_layers` transformer layers (None: train all);
    the pooling and dense modules stay trainable. Returns the number of trainable parameters. On CPU
    this makes a step about twice as fast (no backward through the frozen layers)."""
    if n_layers is not None:
        backbone = getattr(model[0], "auto_model", None)
        layers = getattr(getattr(backbone, "encoder", None), "layer", None)
        if layers is None:
            raise ValueError("train_layers needs a BERT-style encoder (auto_model.encoder.layer)")
        for param in backbone.parameters():
            param.requires_grad_(False)
        for layer in list(layers)[len(layers) - n_layers :] if n_layers else []:
            for param in layer.parameters():
                param.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def recency_weights(n: int, gamma: float) -> np.ndarray:
    """w_i = gamma^(n-1-i) / sum_j gamma^(n-1-j) for events oldest (i = 0) to newest (i = n-1)."""
    raw = gamma ** np.arange(n - 1, -1, -1, dtype=np.float64)
    return raw / raw.sum() if n else raw


def profile_rows(positions: np.ndarray, ratings: np.ndarray, before: int, k_recent: int, min_rating: float) -> np.ndarray:
    """Indices (oldest first) of the events a profile reads: position < `before`, rating >= min_rating,
    the last k_recent; when none is liked, the last k_recent events before `before` (so a user with
    only low ratings still has a profile). `positions` must be sorted ascending."""
    earlier = np.flatnonzero(positions < before)
    liked = earlier[ratings[earlier] >= min_rating]
    chosen = liked if len(liked) else earlier
    return chosen[-k_recent:] if k_recent > 0 else chosen[:0]


def profile(vectors: torch.Tensor | np.ndarray, gamma: float):
    """normalize(sum_i w_i e_i) with recency weights (rows oldest first); works on torch and numpy."""
    weights = recency_weights(len(vectors), gamma)
    if isinstance(vectors, torch.Tensor):
        summed = (torch.as_tensor(weights, dtype=vectors.dtype, device=vectors.device)[:, None] * vectors).sum(0)
        return F.normalize(summed, dim=-1)
    summed = (weights[:, None] * np.asarray(vectors, dtype=np.float64)).sum(0)
    norm = np.linalg.norm(summed)
    return (summed / norm if norm > 0 else summed).astype(np.float32)


def info_nce(profiles: torch.Tensor, positives: torch.Tensor, temperature: float, label_smoothing: float,
             positive_ids: Sequence[str] | None = None) -> torch.Tensor:
    """In-batch InfoNCE: row i's positive is column i, the other rows' positives are its negatives.

    logits = (P @ Q^T) / temperature on unit vectors; the target puts 1 - eps on the positive and
    spreads eps uniformly over every column the row may see (torch's label smoothing when nothing is
    masked). When `positive_ids` is given, a column holding the same persona as row i's own positive
    (two users who picked one persona) is masked out instead of acting as a false negative."""
    logits = profiles @ positives.T / temperature
    n = logits.shape[0]
    visible = torch.ones_like(logits, dtype=torch.bool)
    if positive_ids is not None:
        ids = list(positive_ids)
        same = torch.tensor([[a == b for b in ids] for a in ids], device=logits.device)
        visible = ~same | torch.eye(n, dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(~visible, float("-inf"))
    logp = torch.log_softmax(logits, dim=1).masked_fill(~visible, 0.0)
    k = visible.sum(1, keepdim=True).to(logits.dtype)
    target = visible.to(logits.dtype) * (label_smoothing / k)
    target = target + torch.eye(n, dtype=logits.dtype, device=logits.device) * (1.0 - label_smoothing)
    return -(target * logp).sum(1).mean()


def load_encoder(spec: dict, settings) -> "SentenceTransformer":  # noqa: F821
    """The starting encoder: an embedder preset (embedder.presets.<name>: the packaged MiniLM, bge-m3,
    ...) with the method's max_seq_length and device; weights in float32 for training."""
    from recforge.embed import EmbedderSpec, load_sentence_model

    raw = {**spec, "max_seq_length": settings.max_seq_length, "device": settings.device, "dtype": "float32"}
    return load_sentence_model(EmbedderSpec.from_dict(settings.embedder, raw))


def load_trained(path: str, device: str = "auto") -> "SentenceTransformer":  # noqa: F821
    """A trained encoder directory (SentenceTransformer.save) on `device` ("auto": cuda if present)."""
    from sentence_transformers import SentenceTransformer

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return SentenceTransformer(path, device=device, trust_remote_code=False)
