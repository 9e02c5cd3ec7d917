"""The supervised training stages. Each loads the previous stage's model, trains with TRL's SFTTrainer
on prompt-completion rows (loss on the completion only; pads masked by TRL's collator), hands over the
state best on valid (select.BestOnValid) and saves it with safetensors (PEFT adapters merged first).

Stage 1, token warm-up (`warmup`): the SID tokens are added to the base model (vocab.expand_vocabulary:
recforge.models.tokens.add_tokens, rows initialised from the items' text embeddings) and only their rows
train, through PEFT `TrainableTokensConfig` on the input embedding (and on an untied output head),
backbone frozen; data: the alignment task. Selected by valid loss by default (the model cannot rank
yet). Official: lr 1e-4, 15 epochs, best by eval_loss, patience 2.

Stage 2, multi-task integration (`multitask`): all parameters (or LoRA with the preset's LoRA defaults
and trainable SID rows, `lora: true`) on the task mixture. Selected by valid HR@10 of no-CoT
constrained beam search by default. Official: lr 1e-5, warmup 0.1, wd 0.01, 6 epochs.

Stage 3, reasoning activation (`activation`): all parameters on the CoT rows, in `rejection.rounds`
rounds; between rounds the training rows are rebuilt by rejection sampling with the current model
(rejection.py). Selected over all rounds by valid HR@10 of think-then-SID decoding (greedy think).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import RankEvalConfig, RejectionConfig, TrainConfig
from recforge.methods.onerec.predict import SidDecoder, valid_ranking
from recforge.methods.onerec.rejection import rejection_sample
from recforge.methods.onerec.tasks import subsample
from recforge.methods.onerec.vocab import SidIndex, expand_vocabulary, sid_token_ids
from recforge.models.loading import load_causal_lm
from recforge.models.tokens import SID_END
from recforge.train.arguments import trainer_arguments
from recforge.train.collate import PromptCompletionCollator
from recforge.train.progress import log_progress
from recforge.train.save import REPORT, merged, save_stage
from recforge.train.select import BestOnValid

log = logging.getLogger(__name__)

__all__ = ["REPORT", "activation", "multitask", "warmup"]


# ------------------------------------------------------------------------------------ model I/O
def resolve_device(device: str = "auto") -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device


def load_model(path: str | Path, dtype: str = "float32", attn_implementation: str = "sdpa", device: str = "auto"):
    model, tokenizer = load_causal_lm(str(path), dtype=dtype, attn_implementation=attn_implementation,
                                      device=resolve_device(device))
    return model, tokenizer


def _work(work_dir: str | Path | None) -> str:
    """The trainers' output_dir: `work_dir` (the stage's checkpoint directory: checkpoints and the
    selection are kept there so a killed job resumes), or a temporary directory removed at exit."""
    if work_dir is not None:
        return str(work_dir)
    import atexit

    path = tempfile.mkdtemp(prefix="onerec-")
    atexit.register(shutil.rmtree, path, True)
    return path


# ------------------------------------------------------------------------------------ SFT
def rows_dataset(tokenizer: Any, rows: pd.DataFrame):
    """TRL prompt-completion dataset: the chat-rendered prompt (generation prompt included) and the
    completion text (TRL appends EOS); non-conversational so the exact text is under our control."""
    from datasets import Dataset

    return Dataset.from_dict({
        "prompt": [P.render_prompt(tokenizer, s, u) for s, u in zip(rows["system"], rows["user"])],
        "completion": [str(c) for c in rows["completion"]],
    })


def stage_arguments(cls: type, cfg: TrainConfig, work_dir: str | Path, dtype: str, eval_on_start: bool = False,
                    sft: bool = True, resumable: bool = False):
    """The trainer's arguments: the stage's `args` (recforge.train.trainer_arguments) with TRL's
    completion-only loss for SFTTrainer; a plain Trainer gets no max_length (it tokenises itself)."""
    args = dict(cfg.args)
    if sft:
        args["completion_only_loss"] = True
    else:
        args.pop("max_length", None)
        args["remove_unused_columns"] = False
    return trainer_arguments(cls, {**args, "eval_on_start": eval_on_start}, work_dir,
                             eval_steps=cfg.eval_steps, resumable=resumable, dtype=dtype)


def head_has_adapter(model: Any) -> bool:
    """True when PEFT wraps the output head: TrainableTokens on a tied embedding puts a tuner layer
    there, LoRA's trainable_token_indices a TrainableTokensWrapper."""
    head = model.get_output_embeddings()
    return head is not None and type(head).__module__.startswith("peft.")


def tokenize_prompt_completion(tokenizer: Any, prompt: str, completion: str, max_length: int,
                               history_ids: Collection[int] | None = None) -> dict:
    """input_ids of prompt + completion + EOS with labels -100 on the prompt, as TRL's SFTTrainer
    builds them (the completion starts where the two tokenisations diverge). With `history_ids` (the SID
    token ids), the prompt's SID tokens after its first <|sid_end|> are labelled too: every history item
    but the first is then a target given the items before it."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    full = tokenizer(prompt + completion + (tokenizer.eos_token or ""), add_special_tokens=False)["input_ids"]
    start = 0
    while start < min(len(prompt_ids), len(full)) and prompt_ids[start] == full[start]:
        start += 1
    full = full[:max_length]
    labels = [-100] * min(start, len(full)) + full[start:]
    if history_ids:
        end_id = tokenizer.convert_tokens_to_ids(SID_END)
        first_end = next((n for n, t in enumerate(full[:start]) if t == end_id), start)
        for n in range(first_end + 1, min(start, len(full))):
            if full[n] in history_ids:
                labels[n] = full[n]
    return {"input_ids": full, "labels": labels}


def _tokenized(tokenizer: Any, rows: pd.DataFrame, max_length: int, history_ids: Collection[int] | None = None):
    from datasets import Dataset

    data = rows_dataset(tokenizer, rows)
    ids = set(history_ids or ())
    history = rows["task"].eq("sequential").tolist() if "task" in rows else [True] * len(rows)
    encoded = [tokenize_prompt_completion(tokenizer, p, c, max_length, ids if h else None)
               for p, c, h in zip(data["prompt"], data["completion"], history)]
    return Dataset.from_list([e for e in encoded if any(label != -100 for label in e["labels"])])


def train_sft(model: Any, tokenizer: Any, train_rows: pd.DataFrame, valid_rows: pd.DataFrame, cfg: TrainConfig,
              selector: BestOnValid, work_dir: str | Path, dtype: str = "float32", eval_on_start: bool = False,
              callbacks: list | None = None, resumable: bool = False, history_ids: Collection[int] | None = None) -> Any:
    """One supervised run; `selector` records every valid evaluation. Returns the trained model.
    `resumable`: checkpoints in `work_dir` at each evaluation, and a run that finds one resumes it.
    `history_ids` (the SID token ids): sequential rows also train on their history's SIDs
    (tokenize_prompt_completion), which TRL's completion-only loss cannot express: transformers.Trainer.

    TRL's SFTTrainer (prompt-completion, completion-only loss) trains every model whose output head
    carries no PEFT layer. TRL 1.16 computes log-probabilities from `lm_head.weight` directly (fused LM
    head) and refuses an adapter on the head, which TrainableTokens on a TIED embedding creates (stage 1
    on Qwen3/tiny; LoRA with trainable SID rows likewise): those runs use transformers.Trainer with the
    same tokenisation and labels (tokenize_prompt_completion), so the tied output rows train too."""
    if not len(train_rows):
        raise ValueError("no training rows")
    if head_has_adapter(model) or history_ids:
        from transformers import Trainer, TrainingArguments

        trainer = Trainer(
            model=model,
            args=stage_arguments(TrainingArguments, cfg, work_dir, dtype, eval_on_start, sft=False,
                                 resumable=resumable),
            train_dataset=_tokenized(tokenizer, train_rows, cfg.max_length, history_ids),
            eval_dataset=_tokenized(tokenizer, valid_rows, cfg.max_length, history_ids),
            data_collator=PromptCompletionCollator(tokenizer.pad_token_id),
            callbacks=[selector, *(callbacks or [])],
        )
    else:
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(
            model=model,
            args=stage_arguments(SFTConfig, cfg, work_dir, dtype, eval_on_start, resumable=resumable),
            train_dataset=rows_dataset(tokenizer, train_rows),
            eval_dataset=rows_dataset(tokenizer, valid_rows),
            processing_class=tokenizer,
            callbacks=[selector, *(callbacks or [])],
        )
    log_progress(trainer, type(trainer).__name__)
    resume = resumable and any(Path(work_dir).glob("checkpoint-*"))
    if resume:
        log.info("resuming from the latest checkpoint in %s", work_dir)
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    log.info("trained %d rows with %s: %s", len(train_rows), type(trainer).__name__, result.metrics)
    tokenizer.padding_side = "left"  # decoding pads on the left; the collators bring their own padding
    return trainer.model


def ranking_selector(cfg: TrainConfig, tokenizer: Any, decoder: SidDecoder | None, valid_rows: pd.DataFrame,
                     rank_cfg: RankEvalConfig, cot: bool, state_dir: str | Path | None = None) -> BestOnValid:
    if cfg.select == "loss":
        return BestOnValid("loss", state_dir=state_dir, patience=cfg.patience)
    subset = subsample(valid_rows, rank_cfg.valid_samples, rank_cfg.seed)
    return BestOnValid(cfg.select, rank_fn=lambda m: valid_ranking(m, tokenizer, subset, decoder, rank_cfg, cot),
                       k=rank_cfg.k, state_dir=state_dir, patience=cfg.patience)


def _valid(rows: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    valid = rows[(rows["split"] == "valid") & (rows["completion"].astype(str) != "")]
    if not len(valid):
        raise ValueError("no valid rows for model selection")
    return subsample(valid, n, seed)


def _report(stage: str, cfg: Any, selector: BestOnValid, started: float, **extra: Any) -> dict:
    return {"stage": stage, "config": cfg.__dict__, "selection": selector.report(),
            "wall_time_s": time.perf_counter() - started, **extra}


def _embedding_module_names(model: Any) -> list[str]:
    """Short names of the input embedding and, when untied, the output head (TrainableTokens targets)."""
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    names = [n.split(".")[-1] for n, m in model.named_modules() if m is inp][:1]
    if out is not None and out.weight.data_ptr() != inp.weight.data_ptr():
        names += [n.split(".")[-1] for n, m in model.named_modules() if m is out][:1]
    return names


# ------------------------------------------------------------------------------------ stage 1
def warmup(base_path: str | Path, sids: SidIndex, items: pd.DataFrame, alignment: pd.DataFrame, cfg: TrainConfig,
           out_dir: str | Path, *, rank_cfg: RankEvalConfig | None = None, sequential: pd.DataFrame | None = None,
           dtype: str = "float32", attn_implementation: str = "sdpa", work_dir: str | Path | None = None) -> dict:
    """Stage 1: expand the vocabulary, train only the SID rows on the alignment task, save the merged
    model of the best valid evaluation."""
    from peft import TrainableTokensConfig, get_peft_model

    started = time.perf_counter()
    model, tokenizer = load_model(base_path, dtype, attn_implementation)
    ids = expand_vocabulary(model, tokenizer, sids, items)
    peft_model = get_peft_model(model, TrainableTokensConfig(
        token_indices=ids, target_modules=_embedding_module_names(model), init_weights=True))
    train_rows = subsample(alignment[alignment["split"] == "train"], cfg.max_train_samples, cfg.seed)
    valid_loss_rows = _valid(alignment, cfg.max_valid_samples, cfg.seed)
    decoder = None
    if cfg.select != "loss":
        if sequential is None or rank_cfg is None:
            raise ValueError("stage 1 selection by ranking needs the sequential rows and rank settings")
        decoder = SidDecoder.build(tokenizer, sids)
    selector = ranking_selector(cfg, tokenizer, decoder, _valid(sequential, None, 0) if decoder else alignment,
                                rank_cfg or RankEvalConfig(), cot=False, state_dir=work_dir)
    train_sft(peft_model, tokenizer, train_rows, valid_loss_rows, cfg, selector,
              _work(work_dir), dtype, resumable=work_dir is not None)
    selector.restore_best(peft_model)
    merged_model = merged(peft_model)
    report = _report("warmup", cfg, selector, started, sid_tokens=len(ids), train_rows=len(train_rows),
                     trainable="TrainableTokens(" + ",".join(_embedding_module_names(merged_model)) + ")")
    save_stage(merged_model, tokenizer, out_dir, report)
    return report


# ------------------------------------------------------------------------------------ stage 2
def multitask(stage1_path: str | Path, sids: SidIndex, mixture: pd.DataFrame, sequential: pd.DataFrame,
              cfg: TrainConfig, rank_cfg: RankEvalConfig, out_dir: str | Path, *, lora: Any = None,
              dtype: str = "float32", attn_implementation: str = "sdpa", work_dir: str | Path | None = None,
              decoder: SidDecoder | None = None) -> dict:
    """Stage 2: SFT on the task mixture (full, or LoRA when cfg.lora with `lora` the preset's
    recforge.models.presets.LoraDefaults); selected on the sequential valid rows."""
    started = time.perf_counter()
    model, tokenizer = load_model(stage1_path, dtype, attn_implementation)
    if cfg.lora:
        from peft import get_peft_model

        if lora is None:
            raise ValueError("stage 2 with lora: true needs the preset's LoRA defaults")
        embed = _embedding_module_names(model)[0]
        model = get_peft_model(model, lora.peft_config(trainable_token_indices={embed: sid_token_ids(tokenizer, sids)}))
    decoder = decoder or SidDecoder.build(tokenizer, sids)
    valid = _valid(sequential, None, 0)
    selector = ranking_selector(cfg, tokenizer, decoder, valid, rank_cfg, cot=False, state_dir=work_dir)
    train_rows = subsample(mixture, cfg.max_train_samples, cfg.seed)
    model = train_sft(model, tokenizer, train_rows, subsample(valid, cfg.max_valid_samples, cfg.seed), cfg, selector,
                      _work(work_dir), dtype, resumable=work_dir is not None,
                      history_ids=sid_token_ids(tokenizer, sids) if cfg.history_loss else None)
    selector.restore_best(model)
    report = _report("multitask", cfg, selector, started, train_rows=len(train_rows),
                     tasks=train_rows["task"].value_counts().to_dict(), lora=bool(cfg.lora))
    save_stage(model, tokenizer, out_dir, report)
    return report


# ------------------------------------------------------------------------------------ stage 3
def activation(stage2_path: str | Path, sids: SidIndex, reasoning: pd.DataFrame, sid_of: Mapping[str, str],
               cfg: TrainConfig, rank_cfg: RankEvalConfig, rejection: RejectionConfig, out_dir: str | Path, *,
               dtype: str = "float32", attn_implementation: str = "sdpa", work_dir: str | Path | None = None,
               decoder: SidDecoder | None = None) -> dict:
    """Stage 3: CoT SFT in rounds with rejection sampling between them; best valid state over all
    rounds (think-then-SID ranking, or the valid loss on the CoT valid rows)."""
    started = time.perf_counter()
    model, tokenizer = load_model(stage2_path, dtype, attn_implementation)
    decoder = decoder or SidDecoder.build(tokenizer, sids)
    valid = _valid(reasoning, None, 0)
    selector = ranking_selector(cfg, tokenizer, decoder, valid, rank_cfg, cot=True)
    base_rows = subsample(reasoning[reasoning["split"] == "train"], cfg.max_train_samples, cfg.seed).reset_index(drop=True)
    work = Path(_work(work_dir))
    data, rounds = base_rows, []
    for round_ in range(1, max(1, rejection.rounds) + 1):
        selector.tag = {"round": round_}
        model = train_sft(model, tokenizer, data, subsample(valid, cfg.max_valid_samples, cfg.seed), cfg, selector,
                          work / f"round{round_}", dtype)
        info = {"round": round_, "train_rows": len(data)}
        if round_ < rejection.rounds:
            data, stats = rejection_sample(model, tokenizer, base_rows, decoder, sid_of, rejection, seed_offset=round_)
            info["rejection"] = stats
            model.train()
            if not len(data):
                log.warning("rejection sampling kept no row: stopping after round %d", round_)
                rounds.append(info)
                break
        rounds.append(info)
    selector.restore_best(model)
    report = _report("activation", cfg, selector, started, rounds=rounds, rejection=rejection.__dict__)
    save_stage(model, tokenizer, out_dir, report)
    return report
