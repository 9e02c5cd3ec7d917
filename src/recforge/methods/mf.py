"""Biased matrix factorisation for the rating protocol.

    r_hat(u, i) = mu + b_u + b_i + p_u . q_i

trained with torch (Adam or SGD) on the squared error of `train`-phase rated events plus
`reg * (|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)` per example, with early stopping on the RMSE of the valid
samples (the best epoch's parameters are kept). One model, fitted on train events only, predicts both
valid and test samples. Users/items without a train rating have zero bias and factors, so they fall
back to mu + the known bias (mu alone when both are unknown). Predictions are clipped to the train
rating range when `clip` is set. Deterministic given the seed.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from recforge.methods._common import select_samples, train_events

log = logging.getLogger(__name__)


@dataclass
class MFConfig:
    dim: int = 32
    lr: float = 0.01
    reg: float = 0.05
    epochs: int = 50
    patience: int = 5
    batch_size: int = 1024
    seed: int = 0
    optimizer: str = "adam"  # "adam" or "sgd"
    clip: bool = True
    threads: int | None = None


class BiasedMF(torch.nn.Module):
    """Index 0 of users and items is "unknown" and stays zero."""

    def __init__(self, n_users: int, n_items: int, dim: int, mu: float):
        super().__init__()
        self.mu = torch.nn.Parameter(torch.tensor(float(mu)))
        self.user_bias = torch.nn.Parameter(torch.zeros(n_users + 1))
        self.item_bias = torch.nn.Parameter(torch.zeros(n_items + 1))
        self.user_factors = torch.nn.Parameter(torch.randn(n_users + 1, dim) * 0.01)
        self.item_factors = torch.nn.Parameter(torch.randn(n_items + 1, dim) * 0.01)
        with torch.no_grad():
            self.user_factors[0].zero_()
            self.item_factors[0].zero_()

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user_factors[users] * self.item_factors[items]).sum(-1)
        return self.mu + self.user_bias[users] + self.item_bias[items] + dot


@dataclass
class MFModel:
    config: MFConfig
    net: BiasedMF
    user_index: dict[str, int]
    item_index: dict[str, int]
    rating_range: tuple[float, float]
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0

    def predict_pairs(self, users, items) -> np.ndarray:
        u = torch.as_tensor([self.user_index.get(str(x), 0) for x in users], dtype=torch.long)
        i = torch.as_tensor([self.item_index.get(str(x), 0) for x in items], dtype=torch.long)
        self.net.eval()
        with torch.no_grad():
            out = self.net(u, i).double().numpy()
        if self.config.clip:
            out = np.clip(out, *self.rating_range)
        return out


def _rmse(model: MFModel, frame: pd.DataFrame) -> float:
    pred = model.predict_pairs(frame["user_id"], frame["item_id"])
    return float(np.sqrt(np.mean((pred - frame["rating"].to_numpy(dtype=np.float64)) ** 2)))


def train(interactions: pd.DataFrame, samples: pd.DataFrame, config: MFConfig | None = None) -> MFModel:
    """Fit on train-phase rated events; early-stop on valid-sample RMSE; return the best epoch's model."""
    config = config or MFConfig()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    events = train_events(interactions)
    events = events[events["rating"].notna()]
    if events.empty:
        raise ValueError("no rated train events")
    valid = select_samples(samples, ("valid",))
    valid = valid[valid["rating"].notna()]
    users = sorted(events["user_id"].astype(str).unique())
    items = sorted(events["item_id"].astype(str).unique())
    user_index = {u: n + 1 for n, u in enumerate(users)}
    item_index = {i: n + 1 for n, i in enumerate(items)}
    ratings = events["rating"].to_numpy(dtype=np.float64)
    net = BiasedMF(len(users), len(items), config.dim, float(ratings.mean()))
    model = MFModel(config, net, user_index, item_index, (float(ratings.min()), float(ratings.max())))
    u = torch.as_tensor(events["user_id"].astype(str).map(user_index).to_numpy(dtype=np.int64, copy=True), dtype=torch.long)
    i = torch.as_tensor(events["item_id"].astype(str).map(item_index).to_numpy(dtype=np.int64, copy=True), dtype=torch.long)
    r = torch.tensor(ratings, dtype=torch.float32)
    if config.optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    elif config.optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=config.lr)
    else:
        raise ValueError(f"unknown optimizer {config.optimizer!r}")

    best, best_state, bad = float("inf"), copy.deepcopy(net.state_dict()), 0
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        net.train()
        order = torch.randperm(len(r), generator=gen)
        total = 0.0
        for lo in range(0, len(r), config.batch_size):
            idx = order[lo : lo + config.batch_size]
            bu, bi, br = u[idx], i[idx], r[idx]
            pred = net(bu, bi)
            penalty = (
                net.user_factors[bu].pow(2).sum(-1) + net.item_factors[bi].pow(2).sum(-1)
                + net.user_bias[bu].pow(2) + net.item_bias[bi].pow(2)
            )
            loss = ((pred - br) ** 2 + config.reg * penalty).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        train_loss = total / len(r)
        score = _rmse(model, valid) if len(valid) else float("nan")
        model.history.append({"epoch": epoch, "train_loss": train_loss, "valid_rmse": score,
                              "seconds": time.perf_counter() - start})
        log.info("mf epoch %d loss %.4f valid RMSE %.4f", epoch, train_loss, score)
        if not len(valid):
            best_state, model.best_epoch = copy.deepcopy(net.state_dict()), epoch
            continue
        if score < best:
            best, best_state, bad, model.best_epoch = score, copy.deepcopy(net.state_dict()), 0, epoch
        else:
            bad += 1
            if bad >= config.patience:
                break
    net.load_state_dict(best_state)
    return model


def predict(model: MFModel, samples: pd.DataFrame, splits: tuple[str, ...] = ("valid", "test")) -> pd.DataFrame:
    """Rating-protocol predictions DataFrame[sample_id, split, prediction] of a trained model."""
    chosen = select_samples(samples, splits)
    pred = model.predict_pairs(chosen["user_id"], chosen["item_id"]) if len(chosen) else np.empty(0)
    return pd.DataFrame({"sample_id": chosen["sample_id"].to_numpy(), "split": chosen["split"].to_numpy(),
                         "prediction": pred.astype(np.float64)})


def train_and_predict(
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    config: MFConfig | None = None,
    splits: tuple[str, ...] = ("valid", "test"),
) -> pd.DataFrame:
    return predict(train(interactions, samples, config), samples, splits)


