"""The offline index: fp16 arrays of persona and interaction vectors with id indices.

Files in the cache directory: personas.fp16.npy + personas.ids.parquet (persona_uid, item_id, row),
interactions.fp16.npy + interactions.ids.parquet (review_id, user_id, item_id, position, rating,
row), meta.json (encoder, pooling modules, dimension, text version, counts). Every row is found by id,
never by file order alone. Interactions are the readable events (train and valid phases): a test
event is never encoded.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recforge.io import write_json, write_parquet
from recforge.methods.persona4rec.encoder import encode
from recforge.methods.persona4rec.histories import TEXT_VERSION, persona_text
from recforge.methods.persona4rec.rerank import ScoringIndex

log = logging.getLogger(__name__)


def persona_texts(personas: pd.DataFrame) -> list[str]:
    return [persona_text(p.Name, p.Description, p.item_summary, p.Preference_Rationale)
            for p in personas.itertuples(index=False)]


def build_caches(model, history: pd.DataFrame, personas: pd.DataFrame, out_dir: str | Path, batch_size: int = 64) -> dict:
    """Encode every persona and every readable event with `model`; write the cache directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    p = encode(model, persona_texts(personas), batch_size).cpu().numpy().astype(np.float16)
    e = encode(model, history["text"].tolist(), batch_size).cpu().numpy().astype(np.float16)
    np.save(out / "personas.fp16.npy", p)
    np.save(out / "interactions.fp16.npy", e)
    write_parquet(personas[["persona_uid", "item_id"]].assign(row=np.arange(len(personas))), out / "personas.ids.parquet")
    cols = ["review_id", "user_id", "item_id", "position", "rating"]
    write_parquet(history[cols].assign(row=np.arange(len(history))), out / "interactions.ids.parquet")
    meta = {"modules": [type(m).__name__ for m in model], "dimension": int(p.shape[1]) if len(p) else None,
            "dtype": "float16", "text_version": TEXT_VERSION, "personas": int(len(p)), "interactions": int(len(e)),
            "encode_wall_s": round(time.perf_counter() - start, 3),
            "bytes": int(p.nbytes + e.nbytes)}
    write_json(meta, out / "meta.json")
    log.info("caches: %s", meta)
    return meta


def load_index(cache_dir: str | Path) -> ScoringIndex:
    """The ScoringIndex of a cache directory (vectors stay fp16 on disk, fp32 in memory)."""
    d = Path(cache_dir)
    pid = pd.read_parquet(d / "personas.ids.parquet").sort_values("row")
    eid = pd.read_parquet(d / "interactions.ids.parquet").sort_values("row")
    personas = np.load(d / "personas.fp16.npy")[pid["row"].to_numpy()].astype(np.float32)
    events = np.load(d / "interactions.fp16.npy")[eid["row"].to_numpy()].astype(np.float32)
    return ScoringIndex.build(personas, pid["item_id"].tolist(), events, eid)


def cache_meta(cache_dir: str | Path) -> dict:
    return json.loads((Path(cache_dir) / "meta.json").read_text())
