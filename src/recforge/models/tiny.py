"""Build the tiny base model: tokenizer + Qwen3-architecture model from config + short pretraining on
the dataset's domain text. No download: everything comes from the dataset and the code."""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from recforge.io import write_json
from recforge.models.loading import save_model
from recforge.models.corpus import CorpusConfig, build_corpus, split_heldout
from recforge.models.pretrain import PretrainConfig, pack, perplexity, pretrain
from recforge.models.tokenizer import train_bpe_tokenizer
from recforge.models.tokens import END_OF_TEXT, IM_END

log = logging.getLogger(__name__)

# Files the build writes; the rule declares the first four as outputs.
OUTPUT_FILES = ("model.safetensors", "config.json", "tokenizer.json", "build_report.json")


@dataclass(frozen=True)
class TinyModelConfig:
    vocab_size: int = 8192  # BPE vocabulary (incl. chat tokens); structural tokens come on top
    hidden_size: int = 128
    intermediate_size: int = 384
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 32
    max_position_embeddings: int = 4096
    rope_theta: float = 10000.0
    pad_vocab_to_multiple_of: int = 64  # matmul-friendly vocabulary size
    device: str = "auto"  # "auto": cuda when available, else cpu
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    eval_blocks: int = 64  # held-out blocks for perplexity

    @classmethod
    def from_dict(cls, raw: dict[str, Any], domain: str = "item") -> "TinyModelConfig":
        raw = dict(raw)
        seed = int(raw.get("seed", 0))
        pre = PretrainConfig(**{**raw.pop("pretrain", {}), "seed": seed})
        corpus = CorpusConfig(**{**raw.pop("corpus", {}), "seed": seed, "domain": domain})
        raw.pop("seed", None)
        return cls(**raw, pretrain=pre, corpus=corpus)


def qwen3_config(cfg: TinyModelConfig, vocab: int, pad_id: int, eos_id: int):
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=vocab,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        head_dim=cfg.head_dim,
        max_position_embeddings=cfg.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_theta},
        tie_word_embeddings=True,  # at this size the embedding table is most of the model
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        bos_token_id=None,
    )


def resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _spread(blocks: torch.Tensor, n: int) -> torch.Tensor:
    """At most n blocks, evenly spaced: held-out documents are ordered by kind, and the first blocks
    alone would be item texts only."""
    pick = torch.linspace(0, blocks.shape[0] - 1, min(n, blocks.shape[0])).round().long().unique()
    return blocks[pick]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_tiny_model(
    items: pd.DataFrame, interactions: pd.DataFrame, cfg: TinyModelConfig, out_dir: str | Path
) -> dict[str, Any]:
    """Build into `out_dir` (tokenizer, config, safetensors weights, generation config,
    build_report.json) and return the report. Deterministic for a given seed and data."""
    # Deterministic kernels; cuBLAS needs this workspace setting for them (ignored on CPU).
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        return _build(items, interactions, cfg, Path(out_dir))
    finally:
        torch.use_deterministic_algorithms(was_deterministic)


def _heldout_sets(encode, heldout_docs, sep: int, cfg: TinyModelConfig) -> dict[str, torch.Tensor]:
    """Held-out blocks overall, and for plain item texts and rendered prompts separately: prompts are
    templated and easy, item texts measure how well the model knows the catalogue's vocabulary."""
    sets = {"all": heldout_docs}
    sets["item_text"] = [d for d in heldout_docs if d.kind == "item"]
    sets["prompts"] = [d for d in heldout_docs if d.kind != "item"]
    blocks = {}
    for name, docs in sets.items():
        if not docs and name != "all":
            continue
        try:
            blocks[name] = _spread(pack(encode(docs), sep, cfg.pretrain.seq_len), cfg.eval_blocks)
        except ValueError as error:  # too little held-out text of this kind for one block
            if name == "all":
                raise ValueError(
                    f"held-out corpus too small ({error}): raise models.tiny.corpus.heldout_fraction "
                    "or lower models.tiny.pretrain.seq_len"
                ) from None
    return blocks


def _build(
    items: pd.DataFrame, interactions: pd.DataFrame, cfg: TinyModelConfig, out: Path
) -> dict[str, Any]:
    from transformers import GenerationConfig, Qwen3ForCausalLM

    started = time.perf_counter()
    torch.manual_seed(cfg.pretrain.seed)
    device = resolve_device(cfg.device)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    docs = build_corpus(items, interactions, cfg.corpus)
    train_docs, heldout_docs = split_heldout(docs, cfg.corpus)
    timings["corpus_s"] = time.perf_counter() - t
    log.info("corpus: %d documents (%d held out)", len(docs), len(heldout_docs))

    t = time.perf_counter()
    tokenizer = train_bpe_tokenizer((d.text for d in train_docs), cfg.vocab_size)
    timings["tokenizer_s"] = time.perf_counter() - t

    t = time.perf_counter()
    sep = tokenizer.convert_tokens_to_ids(END_OF_TEXT)

    def encode(ds):
        return tokenizer([d.text for d in ds], add_special_tokens=False)["input_ids"]

    train_blocks = pack(encode(train_docs), sep, cfg.pretrain.seq_len).to(device)
    heldout = {k: v.to(device) for k, v in _heldout_sets(encode, heldout_docs, sep, cfg).items()}
    timings["tokenize_s"] = time.perf_counter() - t

    multiple = cfg.pad_vocab_to_multiple_of
    vocab = -(-len(tokenizer) // multiple) * multiple
    eos = tokenizer.convert_tokens_to_ids(IM_END)
    model = Qwen3ForCausalLM(qwen3_config(cfg, vocab, sep, eos)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    ppl_init = perplexity(model, heldout["all"])
    log.info(
        "model: %d parameters, vocabulary %d; held-out perplexity at init %.1f", n_params, vocab, ppl_init
    )

    t = time.perf_counter()
    curve = pretrain(model, train_blocks, cfg.pretrain)
    timings["pretrain_s"] = time.perf_counter() - t
    ppl = perplexity(model, heldout["all"])
    ppl_by_kind = {k: round(perplexity(model, v), 4) for k, v in heldout.items() if k != "all"}
    log.info("held-out perplexity after pretraining: %.2f %s", ppl, ppl_by_kind)

    # Explicit decoding defaults: greedy, stop at the end of an answer or of a document.
    model.generation_config = GenerationConfig(
        do_sample=False, eos_token_id=[eos, sep], pad_token_id=sep, max_new_tokens=256
    )
    save_model(model.to("cpu"), tokenizer, out)
    report = {
        "architecture": "Qwen3ForCausalLM",
        "parameters": n_params,
        "vocab_size": vocab,
        "tokenizer_size": len(tokenizer),
        "config": asdict(cfg),
        "corpus": {
            "documents": len(docs),
            "heldout_documents": len(heldout_docs),
            "kinds": pd.Series([d.kind for d in docs]).value_counts().sort_index().to_dict(),
            "train_tokens": int(train_blocks.numel()),
            "heldout_tokens_evaluated": int(heldout["all"].numel()),
        },
        "heldout_perplexity_init": round(ppl_init, 4),
        "heldout_perplexity": round(ppl, 4),
        "heldout_perplexity_by_kind": ppl_by_kind,
        "loss_curve": curve,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "build_time_s": round(time.perf_counter() - started, 2),
        "weights_bytes": (out / "model.safetensors").stat().st_size,
        "sha256": {
            "model.safetensors": _sha256(out / "model.safetensors"),
            "tokenizer.json": _sha256(out / "tokenizer.json"),
        },
        "environment": {
            "torch": torch.__version__,
            "transformers": __import__("transformers").__version__,
            "tokenizers": __import__("tokenizers").__version__,
            "threads": torch.get_num_threads(),
            "device": str(device),
            "machine": platform.machine(),
        },
    }
    write_json(report, out / "build_report.json")
    return report
