"""SASRec trained with cross-entropy over the full catalogue, for the top-k protocol.

Training (`train`): one model on the `train`-phase events of every user. Each user's train sequence is
cut into left-padded windows of at most `max_len` inputs (the last window first, earlier windows for
longer sequences), and every position of a window predicts its next item: one forward pass per window,
softmax over ALL catalogue items (the item embedding is the output layer), cross-entropy averaged over
the predicted positions. Adam(W) with `weight_decay`, dropout, layer norm, causal attention.

Model selection: every `eval_every` epochs the valid samples are ranked over the full catalogue (their
history = train events before the valid target, last `max_len`; history items excluded) and NDCG@10 is
computed with recforge.eval.metrics. Training stops after `max_epochs` or after `patience` evaluations
without improvement, whichever comes first; the BEST evaluated state is restored. Both are epoch
counts, so a given config, seed, catalogue and thread count gives the same model on any machine load.
`time_budget_s` (None by default) is only a safety stop: when it fires the run is cut at a
load-dependent epoch, a warning is logged and `stop_reason` says "time_budget". Test samples are never
scored here.

Prediction (`predict`/`recommend`): the sample's history (events before its position; for a test
sample this includes the valid target) -> the hidden state of the last position -> scores of every
catalogue item -> top k, history items excluded by default.

Refit (`refit_for_test`, default on): after selection a second model with the same config and seed is
trained on train AND valid events for the selected number of epochs and predicts the test samples.
This is allowed because a test sample's history contains the valid target anyway; the epoch count
comes from valid, and no test event is read. `refit_for_test=False` gives the plain protocol (one model,
trained on train events, for both splits; what RecBole does).

Persistence: `save(model, dir)` writes model.safetensors + model.json (config, item index, training
log), and the refitted model under dir/refit/ in the same format; `load(dir)` reads them back. No
pickle, no torch.load.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from recforge.data.sequences import histories, user_sequences
from recforge.eval.metrics import hit_at_k, ndcg_at_k
from recforge.methods._common import catalogue, select_samples, topk_frame
from recforge.methods.sasrec_model import SASRecNet

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass
class SASRecConfig:
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 2
    inner_size: int | None = None  # feed-forward width; None = 4 * hidden_size
    dropout: float = 0.5  # embedding, attention-probability and hidden dropout
    max_len: int = 50
    batch_size: int = 64  # sequences (windows) per step; each predicts all its positions
    lr: float = 1e-3
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    # The defaults equal config/config.yaml's `methods.sasrec` (the pipeline's single source of settings).
    max_epochs: int = 200  # selection epochs at most (per dataset: chosen from a measured valid curve)
    patience: int = 5  # evaluations without valid NDCG@10 improvement before stopping
    eval_every: int = 2  # epochs between valid evaluations
    # Safety stop only (None = off): after this many seconds the selection run stops at whatever epoch it
    # reached, which depends on machine load, so the result is not reproducible; a warning is logged.
    time_budget_s: float | None = None
    seed: int = 0
    threads: int | None = None  # torch.set_num_threads (process-wide); None leaves torch's default
    eval_batch_size: int = 1024
    position_from: str = "start"  # positions counted from the oldest item ("start", RecBole) or the newest ("end")
    bucket: bool = True  # batch windows of similar length together (less padding, same epoch content)
    exclude_history: bool = True  # predict()'s default: never recommend items of the sample's history
    # After selection, train a second model on train+valid events for the selected number of epochs and
    # use it for test samples (their history contains the valid target anyway). Adds about
    # best_epoch epochs of training time; valid samples are always predicted by the selected model.
    refit_for_test: bool = True

    @classmethod
    def from_dict(cls, values: dict) -> SASRecConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown SASRec config keys {sorted(unknown)}")
        return cls(**values)


@dataclass
class SASRec:
    config: SASRecConfig
    net: SASRecNet
    items: list[str]  # items[j] has index j + 1 (0 = padding)
    log: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("nan")
    refit: SASRec | None = None  # the train+valid model for test samples (config.refit_for_test)
    # why selection training ended: "max_epochs", "patience" or "time_budget" (the only load-dependent one)
    stop_reason: str = ""

    def __post_init__(self) -> None:
        self.item_index = {item: n + 1 for n, item in enumerate(self.items)}

    def for_split(self, split: str) -> SASRec:
        """The model that predicts samples of `split`: the refitted one for test when there is one."""
        return self.refit if split == "test" and self.refit is not None else self


def build_net(config: SASRecConfig, n_items: int) -> SASRecNet:
    return SASRecNet(
        n_items=n_items,
        hidden=config.hidden_size,
        layers=config.num_layers,
        heads=config.num_heads,
        inner=config.inner_size or 4 * config.hidden_size,
        dropout=config.dropout,
        max_len=config.max_len,
        position_from=config.position_from,
    )


# ----------------------------------------------------------------------------------------- encoding
def _encode(model: SASRec, history: Sequence[str]) -> list[int]:
    """Item indices of a history, unknown ids dropped."""
    index = model.item_index
    return [index[i] for i in history if i in index]


def _left_pad(rows: list[list[int]], width: int) -> np.ndarray:
    out = np.zeros((len(rows), width), dtype=np.int64)
    for r, row in enumerate(rows):
        row = row[-width:]
        if row:
            out[r, width - len(row) :] = row
    return out


def training_windows(sequences: list[list[int]], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) [W, max_len], left-padded. A sequence s of length n gives targets s[1:], cut
    from the end into windows of at most max_len targets; each target's input is the preceding item, so
    position t of a window sees (through causal attention) the inputs up to t only."""
    inputs, targets = [], []
    for s in sequences:
        end = len(s)
        while end > 1:
            start = max(1, end - max_len)
            inputs.append(s[start - 1 : end - 1])
            targets.append(s[start:end])
            end = start
    return _left_pad(inputs, max_len), _left_pad(targets, max_len)


# ----------------------------------------------------------------------------------------- scoring
@torch.no_grad()
def score_histories(model: SASRec, histories_: Sequence[Sequence[str]], exclude_history: bool = True):
    """Yield (rows, scores [len(rows), n_items]) per evaluation batch: `rows` are positions in
    `histories_` (batches are formed by history length, so rows are not contiguous); column j is
    items[j]. History items get -inf when `exclude_history`. A history with no known item is scored
    from the padding state alone (the same for everyone)."""
    cfg = model.config
    model.net.eval()
    encoded = [_encode(model, h) for h in histories_]
    lengths = np.array([min(len(c), cfg.max_len) for c in encoded], dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    for lo in range(0, len(order), cfg.eval_batch_size):
        rows = order[lo : lo + cfg.eval_batch_size]
        chunk = [encoded[r] for r in rows]
        width = max(1, int(lengths[rows].max()))
        seq = torch.from_numpy(_left_pad(chunk, width))
        scores = model.net.item_scores(model.net(seq, last_only=True)[:, -1])
        if exclude_history:
            r = [n for n, c in enumerate(chunk) for _ in c]
            c = [i - 1 for items in chunk for i in items]
            if r:
                scores[torch.tensor(r), torch.tensor(c)] = -math.inf
        yield rows, scores


def target_ranks(model: SASRec, histories_: Sequence[Sequence[str]], targets: Sequence[str],
                 exclude_history: bool = True) -> np.ndarray:
    """1-based full-catalogue rank of each target (0: unknown target or excluded as a history item);
    ties are broken in the target's favour."""
    tgt = np.array([model.item_index.get(t, 0) - 1 for t in targets], dtype=np.int64)
    ranks = np.zeros(len(tgt), dtype=np.int64)
    for rows, scores in score_histories(model, histories_, exclude_history):
        t = torch.from_numpy(tgt[rows])
        ok = t >= 0
        ts = scores[torch.arange(len(t)), t.clamp(min=0)]
        r = 1 + (scores > ts[:, None]).sum(1, dtype=torch.int32).long()
        r = torch.where(ok & torch.isfinite(ts), r, torch.zeros_like(r))
        ranks[rows] = r.numpy()
    return ranks


def target_log_probs(model: SASRec, histories_: Sequence[Sequence[str]], targets: Sequence[str]) -> np.ndarray:
    """log P(target | history) over the full catalogue, history items included (NaN: unknown target)."""
    tgt = np.array([model.item_index.get(t, 0) - 1 for t in targets], dtype=np.int64)
    out = np.full(len(tgt), np.nan)
    for rows, scores in score_histories(model, histories_, exclude_history=False):
        column = torch.from_numpy(tgt[rows]).clamp(min=0)
        log_p = torch.log_softmax(scores.float(), dim=1)[torch.arange(len(rows)), column]
        out[rows] = np.where(tgt[rows] >= 0, log_p.numpy(), np.nan)
    return out


def recommend_with_scores(model: SASRec, histories_: Sequence[Sequence[str]], k: int,
                          exclude_history: bool = True) -> tuple[list[list[str]], list[list[float]]]:
    """Top-k item ids and their scores for each history, best first (fewer than k only when the
    catalogue minus the history is smaller than k)."""
    items: list[list[str]] = [[] for _ in histories_]
    scores_out: list[list[float]] = [[] for _ in histories_]
    k = min(k, len(model.items))
    for rows, scores in score_histories(model, histories_, exclude_history):
        top = torch.topk(scores, k, dim=1)
        for row, vals, idx in zip(rows.tolist(), top.values.tolist(), top.indices.tolist()):
            keep = [(model.items[i], v) for i, v in zip(idx, vals) if v != -math.inf]
            items[row] = [i for i, _ in keep]
            scores_out[row] = [v for _, v in keep]
    return items, scores_out


def recommend(model: SASRec, histories: list[list[str]], k: int, exclude_history: bool = True) -> list[list[str]]:
    """Top-k item ids for each history (oldest first), best first; history items excluded by default."""
    return recommend_with_scores(model, histories, k, exclude_history)[0]


def valid_ndcg(model: SASRec, valid_histories: list[list[str]], valid_targets: list[str]) -> dict[str, float]:
    ranks = target_ranks(model, valid_histories, valid_targets)
    return {"HR@10": float(hit_at_k(ranks, 10).mean()), "NDCG@10": float(ndcg_at_k(ranks, 10).mean())}


# ----------------------------------------------------------------------------------------- training
BUCKET_SPAN = 32  # batches per length-sorted chunk when bucketing


def _batches(lengths: torch.Tensor, batch_size: int, bucket: bool, gen: torch.Generator) -> list[torch.Tensor]:
    """Index batches for one epoch: a random permutation; with `bucket`, chunks of BUCKET_SPAN batches
    are sorted by window length before cutting, and the batch order is shuffled again."""
    order = torch.randperm(len(lengths), generator=gen)
    if not bucket:
        return list(order.split(batch_size))
    batches = []
    for chunk in order.split(batch_size * BUCKET_SPAN):
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches.extend(chunk.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def _training_tensors(model: SASRec, interactions: pd.DataFrame, phases: tuple[str, ...]):
    sequences = user_sequences(interactions, splits=phases)
    inputs, targets = training_windows([_encode(model, s) for s in sequences.values()], model.config.max_len)
    if len(inputs) == 0:
        raise ValueError(f"no {'+'.join(phases)} sequence has two or more events")
    return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy((inputs != 0).sum(1))


def _fit_epoch(model: SASRec, inputs: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor,
               optimizer: torch.optim.Optimizer, gen: torch.Generator) -> tuple[float, int]:
    """One pass over the windows; returns (summed loss, predicted positions)."""
    model.net.train()
    total, count = 0.0, 0
    for idx in _batches(lengths, model.config.batch_size, model.config.bucket, gen):
        width = int(lengths[idx].max())
        seq, tgt = inputs[idx, -width:], targets[idx, -width:]
        hidden = model.net(seq)
        mask = tgt != 0
        # full-catalogue softmax: logits for every item at every predicted position
        loss = F.cross_entropy(model.net.item_scores(hidden[mask]), tgt[mask] - 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        n = int(mask.sum())
        total += loss.item() * n
        count += n
    return total, count


def train(
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    config: SASRecConfig | None = None,
    items: Sequence[str] | None = None,
    valid_scorer: Callable[[SASRec, int], float] | None = None,
) -> SASRec:
    """Train on train-phase events, select by valid NDCG@10, return the best evaluated state.

    `items`: the catalogue (default: every item_id in interactions). `valid_scorer(model, epoch)`
    replaces the valid NDCG@10 computation (tests inject score sequences through it)."""
    config = config or SASRecConfig()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()

    model = SASRec(config, None, catalogue(interactions, items))  # type: ignore[arg-type]
    model.net = build_net(config, len(model.items))
    inputs_t, targets_t, lengths = _training_tensors(model, interactions, ("train",))

    valid = select_samples(samples, ("valid",))
    valid_hist = histories(interactions, valid).tolist()
    valid_tgt = valid["item_id"].astype(str).tolist()
    if valid_scorer is None and not len(valid):
        raise ValueError("no valid samples for model selection")

    optimizer = torch.optim.AdamW(model.net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best_state, best, bad = None, -math.inf, 0
    log.info("sasrec: %d items, %d training windows, %d predicted positions, %d valid samples",
             len(model.items), len(inputs_t), int((targets_t != 0).sum()), len(valid))
    model.stop_reason = "max_epochs"
    for epoch in range(1, config.max_epochs + 1):
        t0 = time.perf_counter()
        total, count = _fit_epoch(model, inputs_t, targets_t, lengths, optimizer, gen)
        entry = {"epoch": epoch, "train_loss": total / count, "train_s": time.perf_counter() - t0}
        # the clock is read only when a budget is set: without one the stop depends on epochs alone
        out_of_time = config.time_budget_s is not None and time.perf_counter() - started >= config.time_budget_s
        last = epoch == config.max_epochs or out_of_time
        if epoch % config.eval_every == 0 or last:
            t1 = time.perf_counter()
            if valid_scorer is not None:
                score = float(valid_scorer(model, epoch))
                entry["valid_score"] = score
            else:
                metrics = valid_ndcg(model, valid_hist, valid_tgt)
                score = metrics["NDCG@10"]
                entry.update({f"valid_{k}": v for k, v in metrics.items()})
            entry["eval_s"] = time.perf_counter() - t1
            if score > best:
                best, bad = score, 0
                best_state = copy.deepcopy(model.net.state_dict())
                model.best_epoch, model.best_score = epoch, score
            else:
                bad += 1
        entry["elapsed_s"] = time.perf_counter() - started
        model.log.append(entry)
        log.info("sasrec epoch %d %s", epoch, json.dumps({k: round(v, 5) if isinstance(v, float) else v
                                                           for k, v in entry.items() if k != "epoch"}))
        if bad >= config.patience:
            model.stop_reason = "patience"
            log.info("sasrec: no valid improvement in %d evaluations, stopping after epoch %d", bad, epoch)
            break
        if out_of_time and epoch < config.max_epochs:
            model.stop_reason = "time_budget"
            log.warning("sasrec: TIME BUDGET of %.0f s REACHED after epoch %d of max_epochs %d: training was "
                        "cut by the clock, so this model depends on machine load and is NOT reproducible; "
                        "raise or unset time_budget_s (null) for the epoch-count stop",
                        config.time_budget_s, epoch, config.max_epochs)
            break
    if best_state is not None:
        model.net.load_state_dict(best_state)
    log.info("sasrec: kept epoch %d of %d (valid score %.5f; stopped by %s)", model.best_epoch, len(model.log),
             model.best_score, model.stop_reason)
    model.net.eval()
    if config.refit_for_test:
        model.refit = refit(interactions, model)
    return model


def refit(interactions: pd.DataFrame, model: SASRec, epochs: int | None = None) -> SASRec:
    """A fresh model, same config, seed and catalogue, trained on `train` AND `valid` events for
    `epochs` (default: the selected model's best epoch), keeping the last state. Only for test
    samples: the valid targets are history for them, and the epoch count was chosen on valid, so
    no test information enters. Nothing is evaluated (valid is now training data)."""
    config = model.config
    epochs = epochs or model.best_epoch
    if epochs < 1:
        raise ValueError("refit needs a positive epoch count")
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    out = SASRec(replace(config, refit_for_test=False), build_net(config, len(model.items)), list(model.items))
    inputs_t, targets_t, lengths = _training_tensors(out, interactions, ("train", "valid"))
    optimizer = torch.optim.AdamW(out.net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        total, count = _fit_epoch(out, inputs_t, targets_t, lengths, optimizer, gen)
        out.log.append({"epoch": epoch, "train_loss": total / count, "train_s": time.perf_counter() - t0,
                        "elapsed_s": time.perf_counter() - started, "refit": True})
        spent = time.perf_counter() - started
        log.info("sasrec refit epoch %d/%d loss %.5f, %.0f s left", epoch, epochs, total / count,
                 spent / epoch * (epochs - epoch))
    out.best_epoch, out.best_score, out.stop_reason = epochs, float("nan"), "max_epochs"
    out.net.eval()
    return out


def predict(
    model: SASRec,
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    k: int = 20,
    exclude_history: bool | None = None,
    splits: tuple[str, ...] = ("valid", "test"),
    use_refit: bool = True,
) -> pd.DataFrame:
    """topk predictions DataFrame[sample_id, split, items, scores] for the samples of `splits`, in
    their order. A sample's input is its history (events before its position: for a test sample, the
    train events and the valid target). Test samples are scored by `model.refit` when it exists and
    `use_refit`. `exclude_history` None = the model config's setting."""
    if exclude_history is None:
        exclude_history = model.config.exclude_history
    chosen = select_samples(samples, splits)
    hist = histories(interactions, chosen, max_len=None if exclude_history else model.config.max_len)
    split_of = chosen["split"].to_numpy()
    lists: list = [None] * len(chosen)
    scores: list = [None] * len(chosen)
    for split in pd.unique(split_of):
        rows = np.nonzero(split_of == split)[0]
        scorer = model.for_split(split) if use_refit else model
        got, vals = recommend_with_scores(scorer, [hist.iloc[r] for r in rows], k, exclude_history)
        for r, g, v in zip(rows, got, vals):
            lists[r], scores[r] = g, v
    return topk_frame(chosen["sample_id"], chosen["split"], lists, scores)


def train_and_predict(
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    config: SASRecConfig | None = None,
    k: int = 20,
    splits: tuple[str, ...] = ("valid", "test"),
    items: Sequence[str] | None = None,
) -> pd.DataFrame:
    """train() then predict()."""
    model = train(interactions, samples, config, items=items)
    return predict(model, interactions, samples, k=k, splits=splits)


# ----------------------------------------------------------------------------------------- persistence
def save(model: SASRec, model_dir: str | Path) -> None:
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.net.state_dict().items()}
    save_file(state, str(model_dir / "model.safetensors"))
    meta = {
        "format_version": FORMAT_VERSION,
        "config": asdict(model.config),
        "items": model.items,
        "best_epoch": model.best_epoch,
        "best_score": model.best_score,
        "stop_reason": model.stop_reason,
        "log": model.log,
    }
    meta["has_refit"] = model.refit is not None
    (model_dir / "model.json").write_text(json.dumps(meta, indent=1))
    if model.refit is not None:
        save(model.refit, model_dir / "refit")


def load(model_dir: str | Path) -> SASRec:
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "model.json").read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported SASRec format {meta.get('format_version')!r}")
    config = SASRecConfig.from_dict(meta["config"])
    net = build_net(config, len(meta["items"]))
    net.load_state_dict(load_file(str(model_dir / "model.safetensors")))
    net.eval()
    model = SASRec(config, net, list(meta["items"]), meta.get("log", []), meta["best_epoch"], meta["best_score"],
                   stop_reason=meta.get("stop_reason", ""))
    if meta.get("has_refit"):
        model.refit = load(model_dir / "refit")
    return model
