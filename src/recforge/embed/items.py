"""Embed the item catalogue; save and load embeddings with their id index."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recforge.embed.embedder import EmbedderSpec, load_sentence_model
from recforge.io import write_json, write_parquet
from recforge.text.items import EMBEDDING_TEXT_VERSION, embedding_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemEmbeddings:
    item_ids: list[str]  # row i of vectors is item_ids[i]
    vectors: np.ndarray  # float32 [n_items, dim]

    def __post_init__(self) -> None:
        if len(self.item_ids) != self.vectors.shape[0]:
            raise ValueError("one embedding row per item id")

    def lookup(self, item_ids: list[str]) -> np.ndarray:
        """Rows for `item_ids`, by id (never by position in some other table)."""
        index = {item_id: row for row, item_id in enumerate(self.item_ids)}
        return self.vectors[[index[i] for i in item_ids]]


def encode_texts(model: Any, texts: list[str], spec: EmbedderSpec) -> np.ndarray:
    vectors = model.encode(
        texts,
        batch_size=spec.batch_size,
        normalize_embeddings=spec.normalize,
        convert_to_numpy=True,
        show_progress_bar=True,  # tqdm on stderr -> the rule's log
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


def embed_items(
    items: pd.DataFrame, spec: EmbedderSpec, model: Any | None = None
) -> tuple[ItemEmbeddings, dict[str, Any]]:
    """Embed every item's `recforge.text.items.embedding_text`; items in item_id order. Returns the
    embeddings and run metadata (model, dimension, throughput)."""
    model = model or load_sentence_model(spec)
    ordered = items.sort_values("item_id", kind="stable")
    texts = [embedding_text(row) for row in ordered.to_dict("records")]
    start = time.perf_counter()
    vectors = encode_texts(model, texts, spec)
    seconds = time.perf_counter() - start
    meta = {
        "embedder": spec.name,
        "source": spec.source,
        "dim": int(vectors.shape[1]),
        "items": len(texts),
        "normalized": spec.normalize,
        "max_seq_length": spec.max_seq_length,
        "text_version": EMBEDDING_TEXT_VERSION,
        "encode_s": round(seconds, 2),
        "texts_per_s": round(len(texts) / max(seconds, 1e-9), 1),
    }
    log.info(
        "embedded %d items (%d dims) in %.1fs: %.0f texts/s",
        len(texts),
        meta["dim"],
        seconds,
        meta["texts_per_s"],
    )
    return ItemEmbeddings([str(i) for i in ordered["item_id"]], vectors), meta


def save_item_embeddings(
    embeddings: ItemEmbeddings,
    meta: dict[str, Any],
    npy_path: str | Path,
    ids_path: str | Path,
    meta_path: str | Path,
) -> None:
    """vectors -> .npy (float32), ids -> parquet (row, item_id), metadata -> JSON; each written atomically."""
    npy_path = Path(npy_path)
    npy_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = npy_path.with_name(f".{npy_path.name}.tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, embeddings.vectors, allow_pickle=False)
    tmp.replace(npy_path)
    write_parquet(
        pd.DataFrame({"row": range(len(embeddings.item_ids)), "item_id": embeddings.item_ids}), ids_path
    )
    write_json(meta, meta_path)


def load_item_embeddings(npy_path: str | Path, ids_path: str | Path) -> ItemEmbeddings:
    vectors = np.load(npy_path, allow_pickle=False)
    ids = pd.read_parquet(ids_path).sort_values("row")["item_id"].astype(str).tolist()
    return ItemEmbeddings(ids, vectors)
