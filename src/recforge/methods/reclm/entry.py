"""RecLM-uni's training stages as recforge.train entry points (`-m recforge.train.cli
recforge.methods.reclm.entry:sft --spec JSON`, and `:grpo`), and the model loading shared with
prediction.

The spec (rules/reclm_common.smk builds it): `samples` (reclm_samples' table), `metas`, `chat`,
`sids` (reclm_token), `embeddings` + `embedding_ids` (reclm_ret), `out_dir`, `report`, `start`, and
`settings` = {"variant", "samples", "sft", "rank_eval", "ret"} (SFT) or {"samples", "grpo",
"rank_eval"} (GRPO, from cgen's model) (methods.reclm sections).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from recforge.methods.reclm import sft as S
from recforge.methods.reclm.config import (VARIANTS, GRPOSettings, RankEvalConfig, RetConfig, SampleConfig,
                                           SFTConfig)
from recforge.methods.reclm.decode import Decoder, RetrievalHead
from recforge.methods.reclm.export import read_titles
from recforge.methods.reclm.samples import read_chat
from recforge.methods.reclm.vocab import add_control_tokens, add_sid_tokens, build_trie, sid_texts
from recforge.models.loading import load_causal_lm
from recforge.models.presets import LoraDefaults
from recforge.settings import typed
from recforge.train.checkpoints import checkpoint_dir

log = logging.getLogger(__name__)


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def item_texts(variant: str, paths: Mapping[str, str], model: Any, tokenizer: Any) -> tuple[dict[str, str], list[int]]:
    """(item_id -> text inside <SOI>..<EOI>, ids of tokens added for it): title_t, or the SID string.
    `cgen_grpo` (GRPO from cgen's model) has cgen's titles."""
    variant = variant.removesuffix("_grpo")
    if variant not in VARIANTS:
        raise ValueError(f"unknown RecLM variant {variant!r}; known: {VARIANTS}")
    titles = read_titles(paths["metas"])
    if variant != "token":
        return titles, []
    from recforge.sid import read_sids

    sids = read_sids(paths["sids"])
    ids = add_sid_tokens(model, tokenizer, sids.codes)
    texts = sid_texts(list(map(str, sids.item_ids)), sids.codes)
    missing = set(titles) - set(texts)
    if missing:
        raise ValueError(f"{len(missing)} catalogue items have no semantic ID, e.g. {sorted(missing)[:3]}")
    return {item: texts[item] for item in titles}, ids


def item_vectors(paths: Mapping[str, str], item_ids: list[str]) -> torch.Tensor:
    from recforge.embed import load_item_embeddings

    emb = load_item_embeddings(paths["embeddings"], paths["embedding_ids"])
    row = {item: n for n, item in enumerate(emb.item_ids)}
    missing = [i for i in item_ids if i not in row]
    if missing:
        raise ValueError(f"{len(missing)} items have no embedding, e.g. {missing[:3]}")
    return torch.as_tensor(emb.vectors[[row[i] for i in item_ids]], dtype=torch.float32)


def sft(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    s = spec["settings"]
    variant = s["variant"]
    samples_cfg = typed(SampleConfig, s["samples"], "methods.reclm.samples")
    cfg = typed(SFTConfig, s["sft"], "methods.reclm.sft")
    rank = typed(RankEvalConfig, s["rank_eval"], "methods.reclm.rank_eval")
    ret = typed(RetConfig, s["ret"], "methods.reclm.ret")
    start = spec["start"]
    model, tokenizer = load_causal_lm(start["path"], start["dtype"], start["attn_implementation"], device())
    model.train()
    new_ids = add_control_tokens(model, tokenizer)
    item_text, sid_ids = item_texts(variant, spec, model, tokenizer)
    trie = build_trie(tokenizer, item_text)
    head = None
    if variant == "ret":
        head = RetrievalHead(model.config.hidden_size, ret.projection_hidden, item_vectors(spec, trie.item_ids),
                             ret.item_emb).to(model.device)
    decoder = Decoder(tokenizer, trie, item_text, head)
    report = S.train_sft(model, tokenizer, pd.read_parquet(spec["samples"]), item_text, read_chat(spec["chat"]),
                         decoder, cfg, samples_cfg, rank, spec["out_dir"], work_dir=checkpoint_dir(spec["out_dir"]),
                         lora=LoraDefaults.from_dict(start["lora"]), new_token_ids=new_ids + sid_ids, ret=ret,
                         dtype=start["dtype"])
    return {**report, "variant": variant, "items": trie.num_items, "trie_nodes": trie.num_nodes}


def grpo(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    """GRPO from reclm_cgen's selected model (`start`), which already has <SOI>/<EOI>."""
    from recforge.methods.reclm.grpo import train_grpo

    s = spec["settings"]
    samples_cfg = typed(SampleConfig, s["samples"], "methods.reclm.samples")
    cfg = typed(GRPOSettings, s["grpo"], "methods.reclm.grpo")
    rank = typed(RankEvalConfig, s["rank_eval"], "methods.reclm.rank_eval")
    start = spec["start"]
    model, decoder, item_text = load_for_prediction("cgen", start["path"], spec, start["dtype"],
                                                    start["attn_implementation"])
    model.train()
    report = train_grpo(model, decoder.tokenizer, pd.read_parquet(spec["samples"]), item_text, read_chat(spec["chat"]),
                        decoder, cfg, samples_cfg, rank, spec["out_dir"], work_dir=checkpoint_dir(spec["out_dir"]),
                        lora=LoraDefaults.from_dict(start["lora"]), dtype=start["dtype"])
    return {**report, "variant": "cgen_grpo", "items": decoder.trie.num_items}


def load_for_prediction(variant: str, model_dir: str, paths: Mapping[str, str], dtype: str = "float32",
                        attn_implementation: str = "sdpa") -> tuple[Any, Decoder, dict[str, str]]:
    model, tokenizer = load_causal_lm(model_dir, dtype, attn_implementation, device())
    item_text, _ = item_texts(variant, paths, model, tokenizer)
    trie = build_trie(tokenizer, item_text)
    head = None
    if variant == "ret":
        head, ids = S.load_head(model_dir)
        if ids != list(trie.item_ids):
            raise ValueError("the retrieval head's item table does not match the catalogue")
        head = head.to(model.device)
    return model, Decoder(tokenizer, trie, item_text, head), item_text
