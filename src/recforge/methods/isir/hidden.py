"""Teacher hidden states at the <answer> token after its own reasoning, for the samples it got right.

Stored as fp16 safetensors shards written one by one while extracting (a 4B teacher on 22k samples
would not fit in memory at once), each tensor named by its sample_id, with an index.json mapping
sample_id -> shard. `layers` are 1-based transformer layers (the embedding output, layer 0, is never
aligned); None = all layers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm.auto import tqdm

from recforge.io import read_json, write_json
from recforge.methods.isir.chat import teacher_state_text

log = logging.getLogger(__name__)
INDEX = "index.json"


def resolve_layers(layers: Sequence[int] | None, num_layers: int) -> list[int]:
    chosen = list(range(1, num_layers + 1)) if layers is None else [int(x) for x in layers]
    bad = [x for x in chosen if not 1 <= x <= num_layers]
    if bad or not chosen:
        raise ValueError(f"hidden layers {bad or chosen} out of range 1..{num_layers}")
    return chosen


def last_token_states(model: Any, batch: dict[str, torch.Tensor], layers: list[int]) -> torch.Tensor:
    """[B, len(layers), H] states of the last position (left padding puts every text's last token
    there)."""
    out = model(**batch, output_hidden_states=True)
    return torch.stack([out.hidden_states[i][:, -1, :] for i in layers], dim=1)


def extract_teacher_states(
    model: Any,
    tokenizer: Any,
    rows: pd.DataFrame,
    thinking: pd.Series,
    out_dir: str | Path,
    layers: Sequence[int] | None,
    batch_size: int,
    shard_size: int,
) -> dict[str, Any]:
    """rows: verl rows (prompt, sample_id); thinking: the teacher's reasoning per row (aligned)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chosen = resolve_layers(layers, model.config.num_hidden_layers)
    tokenizer.padding_side = "left"
    device = next(model.parameters()).device
    index: dict[str, str] = {}
    shard: dict[str, torch.Tensor] = {}
    n_shards = 0

    def flush() -> None:
        nonlocal shard, n_shards
        if shard:
            name = f"hidden-{n_shards:05d}.safetensors"
            save_file(shard, str(out / name))
            index.update({key: name for key in shard})
            n_shards += 1
            shard = {}

    texts = [teacher_state_text(tokenizer, p, t) for p, t in zip(rows["prompt"], thinking)]
    ids = rows["sample_id"].astype(str).tolist()
    with torch.inference_mode():
        for lo in tqdm(range(0, len(texts), batch_size), desc="teacher states", mininterval=10):
            batch = tokenizer(
                texts[lo : lo + batch_size], return_tensors="pt", padding=True, add_special_tokens=False
            )
            states = last_token_states(model, batch.to(device), chosen).to("cpu", torch.float16)
            for key, state in zip(ids[lo : lo + batch_size], states):
                shard[key] = state.contiguous()
            if len(shard) >= shard_size:
                flush()
    flush()
    meta = {"layers": chosen, "hidden_size": model.config.hidden_size, "dtype": "float16", "samples": index}
    write_json(meta, out / INDEX)
    log.info("teacher states: %d samples x %d layers in %d shards", len(index), len(chosen), n_shards)
    return {"samples": len(index), "layers": chosen, "shards": n_shards}


class TeacherStates:
    """Read access by sample_id, opening each shard lazily (safetensors maps, never unpickles)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        meta = read_json(self.directory / INDEX)
        self.layers: list[int] = meta["layers"]
        self.index: dict[str, str] = meta["samples"]
        self._open: dict[str, Any] = {}

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self.index

    def __getitem__(self, sample_id: str) -> torch.Tensor:
        name = self.index[sample_id]
        if name not in self._open:
            self._open[name] = safe_open(str(self.directory / name), framework="pt")
        return self._open[name].get_tensor(sample_id)
