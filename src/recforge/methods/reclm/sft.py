"""RecLM's SFT stage (recforge.train layer): SOI/EOI tokens, the item texts of the variant, the
scope-masked / focal loss, full fine-tuning (or the preset's LoRA with trainable new-token rows), the
state best on valid (constrained generation of the valid subset, HR/NDCG@10) restored and saved.

The loss lives in `ReclmTrainer.compute_loss` (transformers.Trainer used as is otherwise);
RecLM-ret adds `emb_alpha` x cross-entropy of the projected hidden state before each <SOI> over the
item table (inner products, no temperature) to the LM loss, whose labels then exclude title tokens
and <EOI> (data.retrieval_targets). With `history_loss` the train rows' history items are targets too
(recforge.methods.reclm.data); the valid loss stays the answer's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from transformers import Trainer, TrainingArguments

from recforge.eval.metrics import first_hit_ranks, hit_at_k, ndcg_at_k
from recforge.methods.reclm.config import RankEvalConfig, RetConfig, SampleConfig, SFTConfig
from recforge.methods.reclm.data import Collator, encode_conversation, history_labels, render, retrieval_targets
from recforge.methods.reclm.decode import Decoder, RetrievalHead
from recforge.methods.reclm.loss import reclm_loss, scope_positions
from recforge.methods.reclm.samples import conversation, history_char_spans
from recforge.train.arguments import trainer_arguments
from recforge.train.progress import log_progress
from recforge.train.save import merged, save_stage
from recforge.train.select import BestOnValid

log = logging.getLogger(__name__)

HEAD_FILE, HEAD_ITEMS = "retrieval_head.safetensors", "retrieval_head.json"


class ReclmTrainer(Trainer):
    def __init__(self, *args: Any, trie: Any, soi: int, eoi: int, cfg: SFTConfig, head: RetrievalHead | None = None,
                 emb_alpha: float = 1.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.trie, self.soi, self.eoi, self.cfg = trie, soi, eoi, cfg
        self.head, self.emb_alpha = head, emb_alpha

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        spans = {k: inputs.pop(k) for k in ("soi_rows", "soi_pos", "soi_items") if k in inputs}
        outputs = model(**inputs, output_hidden_states=self.head is not None)
        where, allowed = scope_positions(labels.cpu(), self.trie, self.soi, self.eoi, self.cfg.scope_mask_type)
        loss = reclm_loss(outputs.logits, labels, loss_type=self.cfg.loss_type, gamma=self.cfg.fl_gamma,
                          where=where, allowed=allowed, scope_mask=self.cfg.scope_mask)
        if self.head is not None and len(spans.get("soi_pos", ())):
            hidden = outputs.hidden_states[-1][spans["soi_rows"], spans["soi_pos"] - 1]
            scores = self.head(hidden)
            loss = loss + self.emb_alpha * torch.nn.functional.cross_entropy(scores, spans["soi_items"].to(scores.device))
        return (loss, outputs) if return_outputs else loss


def prompts_of(tokenizer: Any, rows: pd.DataFrame, item_text: Mapping[str, str], chat: Sequence) -> list[str]:
    return [render(tokenizer, conversation(r, item_text, chat, with_answer=False), add_generation_prompt=True)
            for r in rows.to_dict("records")]


def ranking(lists: Sequence[Sequence[str]], targets: Sequence[str], k: int = 10) -> dict[str, float]:
    ranks = first_hit_ranks([[i for i in items if i is not None] for items in lists], list(targets))
    return {f"HR@{k}": float(hit_at_k(ranks, k).mean()) if len(ranks) else 0.0,
            f"NDCG@{k}": float(ndcg_at_k(ranks, k).mean()) if len(ranks) else 0.0}


def valid_ranker(decoder: Decoder, rows: pd.DataFrame, item_text: Mapping[str, str], chat: Sequence,
                 samples_cfg: SampleConfig, rank: RankEvalConfig):
    prompts = prompts_of(decoder.tokenizer, rows, item_text, chat)
    excluded = [list(e) for e in rows["excluded"]]
    targets = rows["target"].tolist()

    def rank_fn(model: Any) -> dict:
        lists = decoder.rank(model, prompts, excluded, k=samples_cfg.topk, batch_size=rank.batch_size,
                             max_new_tokens=rank.max_new_tokens, min_items=rank.min_items,
                             item_beams=rank.item_beams, idx=samples_cfg.idx)
        return {**ranking(lists, targets, 10), "mean_list_length": float(np.mean([len(x) for x in lists])),
                "distinct_items": len({i for items in lists for i in items})}

    return rank_fn


def encoded_dataset(tokenizer: Any, rows: pd.DataFrame, item_text: Mapping[str, str], chat: Sequence, idx: bool,
                    max_length: int, retrieval: tuple | None = None, history_loss: bool = False):
    from datasets import Dataset

    out = []
    for row in rows.to_dict("records"):
        history = [str(i) for i in row["history"]] if history_loss else []
        locate = (lambda text: history_char_spans(text, history, item_text)) if history_loss else None
        encoded = encode_conversation(tokenizer, conversation(row, item_text, chat, idx), max_length, locate)
        if retrieval is not None:
            encoded = retrieval_targets(encoded, *retrieval, history=history)
        elif history_loss:
            encoded = history_labels(encoded)
        encoded.pop("history_spans", None)
        if any(label != -100 for label in encoded["labels"]) or encoded.get("soi_pos"):
            out.append(encoded)
    return Dataset.from_list(out)


def subsample(rows: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    return rows if n is None or len(rows) <= n else rows.sample(n=n, random_state=seed).sort_index()


def train_sft(model: Any, tokenizer: Any, samples: pd.DataFrame, item_text: Mapping[str, str], chat: Sequence,
              decoder: Decoder, cfg: SFTConfig, samples_cfg: SampleConfig, rank: RankEvalConfig, out_dir: str | Path,
              *, work_dir: str | Path, lora: Any = None, new_token_ids: Sequence[int] = (),
              ret: RetConfig | None = None, dtype: str = "float32", resumable: bool = True) -> dict:
    """Train, select on valid, save the selected model (and RecLM-ret's head); returns the report."""
    started = time.perf_counter()
    head = decoder.head
    if head is not None:
        model.add_module("reclm_head", head)  # in the optimiser and in BestOnValid's trainable state
    if cfg.lora:
        from peft import get_peft_model

        embed = [n.split(".")[-1] for n, m in model.named_modules() if m is model.get_input_embeddings()][0]
        model = get_peft_model(model, lora.peft_config(trainable_token_indices={embed: list(new_token_ids)}))
        if head is not None:
            for name, p in head.named_parameters():
                p.requires_grad = name != "items" or (ret is not None and ret.item_emb)
    train_rows = subsample(samples[samples["split"] == "train"], cfg.max_train_samples, cfg.seed)
    valid_rows = samples[samples["split"] == "valid"]
    if not len(train_rows) or not len(valid_rows):
        raise ValueError("RecLM SFT needs train and valid rows")
    retrieval = (decoder.trie, decoder.row_of, decoder.soi, decoder.eoi) if head is not None else None
    train_data = encoded_dataset(tokenizer, train_rows, item_text, chat, samples_cfg.idx, cfg.max_length, retrieval,
                                 cfg.history_loss)
    loss_rows = subsample(valid_rows, cfg.max_valid_samples, cfg.seed)
    valid_data = encoded_dataset(tokenizer, loss_rows, item_text, chat, samples_cfg.idx, cfg.max_length, retrieval)
    rank_rows = subsample(valid_rows, rank.valid_samples, rank.seed)
    selector = BestOnValid(cfg.select, rank_fn=None if cfg.select == "loss" else
                           valid_ranker(decoder, rank_rows, item_text, chat, samples_cfg, rank),
                           k=10, state_dir=work_dir, patience=cfg.patience)
    args = dict(cfg.args)
    args.pop("max_length", None)
    trainer = ReclmTrainer(
        model=model,
        args=trainer_arguments(TrainingArguments, {**args, "remove_unused_columns": False}, work_dir,
                               eval_steps=cfg.eval_steps, resumable=resumable, dtype=dtype),
        train_dataset=train_data, eval_dataset=valid_data, data_collator=Collator(tokenizer.pad_token_id),
        callbacks=[selector], trie=decoder.trie, soi=decoder.soi, eoi=decoder.eoi, cfg=cfg, head=head,
        emb_alpha=ret.emb_alpha if ret is not None else 1.0,
    )
    log_progress(trainer, "reclm sft")
    resume = resumable and any(Path(work_dir).glob("checkpoint-*"))
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    tokenizer.padding_side = "left"
    selector.restore_best(trainer.model)
    final = merged(trainer.model)
    report = {"stage": "sft", "config": cfg.__dict__, "selection": selector.report(), "train_rows": len(train_rows),
              "train_sequences": len(train_data), "multi_round_rows": int((train_rows["chat"] >= 0).sum()),
              "templates": train_rows["template"].value_counts().sort_index().to_dict(),
              "train_metrics": result.metrics, "lora": bool(cfg.lora),
              "wall_time_s": time.perf_counter() - started}
    if head is not None:
        del final.reclm_head
        save_head(head, decoder.trie.item_ids, out_dir)
    save_stage(final, tokenizer, out_dir, report)
    return report


def save_head(head: RetrievalHead, item_ids: Sequence[str], out_dir: str | Path) -> None:
    from safetensors.torch import save_file

    from recforge.io import write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({n: p.detach().contiguous().cpu() for n, p in head.state_dict().items()}, str(out / HEAD_FILE))
    write_json({"item_ids": list(item_ids), "hidden_size": head.proj[0].in_features,
                "projection_hidden": head.proj[0].out_features}, out / HEAD_ITEMS)


def load_head(model_dir: str | Path) -> tuple[RetrievalHead, list[str]]:
    from safetensors.torch import load_file

    from recforge.io import read_json

    meta = read_json(Path(model_dir) / HEAD_ITEMS)
    state = load_file(str(Path(model_dir) / HEAD_FILE))
    head = RetrievalHead(meta["hidden_size"], meta["projection_hidden"], state["items"], trainable=False)
    head.load_state_dict(state)
    head.eval()
    return head, list(meta["item_ids"])
