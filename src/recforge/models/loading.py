"""Load a causal LM and its tokenizer from a local directory or hub id, without remote code."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DTYPES = ("float32", "bfloat16", "float16")


def torch_dtype(name: str):
    import torch

    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use one of {DTYPES}")
    return getattr(torch, name)


def load_tokenizer(path: str, padding_side: str = "left"):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    tokenizer.padding_side = padding_side  # decoder-only generation pads on the left
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(
    path: str,
    dtype: str = "float32",
    attn_implementation: str = "sdpa",
    device: str = "cpu",
) -> tuple[Any, Any]:
    """(model, tokenizer), the model in eval mode on `device`."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        path,
        dtype=torch_dtype(dtype),
        attn_implementation=attn_implementation,
        trust_remote_code=False,
    )
    model.to(device)
    model.eval()
    log.info("loaded %s (%s, %s) on %s", path, dtype, attn_implementation, device)
    return model, load_tokenizer(path)


def fingerprint(path: str) -> str:
    """A short id of a model's content, for cache keys: a rebuilt model at the same path must not
    reuse the answers of the old one. Hashes config.json plus, for each weight file, its size and
    its first and last MiB (reading multi-GB checkpoints in full would dominate a short stage).
    A hub id that is not a local directory is its own fingerprint."""
    root = Path(path)
    if not root.is_dir():
        return path
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "generation_config.json"):
        if (root / name).is_file():
            digest.update((root / name).read_bytes())
    for weights in sorted(root.glob("*.safetensors")):
        size = weights.stat().st_size
        digest.update(f"{weights.name}:{size}".encode())
        with open(weights, "rb") as handle:
            digest.update(handle.read(1 << 20))
            if size > 2 << 20:
                handle.seek(-(1 << 20), 2)
                digest.update(handle.read())
    return f"{root.name}@{digest.hexdigest()[:16]}"


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_model(model: Any, tokenizer: Any, out: str | Path) -> None:
    """Save weights (safetensors) and tokenizer into a temporary sibling, then move the files in, so a
    killed job leaves no half-written file behind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        for name in sorted(os.listdir(tmp)):
            shutil.move(os.path.join(tmp, name), out / name)
