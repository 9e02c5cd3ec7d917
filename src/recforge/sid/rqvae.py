"""RQ-VAE semantic IDs (LC-Rec / LETTER / MiniOneRec recipe, seed notes B.7), trained in torch.

encoder MLP -> `levels` residual codebooks of `codebook_size` codes -> mirrored decoder MLP; loss =
reconstruction MSE + quant_weight * mean per-level (codebook + beta * commitment) loss, straight-
through gradients. Codebooks start from residual k-means (faiss) of the initial encoder's latents of
the whole catalogue (LC-Rec: sklearn k-means on the first batch; the whole catalogue is as cheap here
and does not depend on batch order). During training the last level assigns by Sinkhorn (balanced
codes, hand-written log-domain Sinkhorn, recforge.sid.sinkhorn); codes for the items are then taken
by nearest codeword and collisions resolved by recforge.sid.collisions.

Differences from LC-Rec, on purpose: early stopping on the full-catalogue reconstruction MSE (with
`patience` epochs) and the best-reconstruction weights kept, instead of 10,000 epochs with a linear
LR schedule and the lowest-collision checkpoint (collisions are resolved afterwards anyway); a
constant learning rate; dead-code restarts after every epoch (codes no item uses jump to a random
item's residual; MiniOneRec's newer trainer restarts from high-error residuals), which on MiniLM
vectors lifts first-level utilisation from ~45% to 100% (docs/sid.md).
Deterministic on CPU for a given seed and torch thread count. Weights are
saved with safetensors (the config rides in the file's metadata), never pickle.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recforge.settings import typed
import torch.nn.functional as F
from tqdm.auto import tqdm

from recforge.sid.collisions import resolve_collisions
from recforge.sid.kmeans import effective_k
from recforge.sid.report import sid_report
from recforge.sid.rqkmeans import residual_kmeans
from recforge.sid.rqvae_model import RQVAE
from recforge.sid.types import SemanticIds, check_inputs, check_shape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RQVAEConfig:
    levels: int = 3
    codebook_size: int = 256
    latent_dim: int = 32
    hidden_dims: tuple[int, ...] = (512, 256, 128)
    beta: float = 0.25  # commitment weight (LC-Rec)
    quant_weight: float = 1.0  # weight of the VQ loss next to the reconstruction loss (LC-Rec)
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 1024
    max_epochs: int = 500
    patience: int = 30  # epochs without a min_rel_improvement drop in reconstruction MSE -> stop
    min_rel_improvement: float = 1e-3
    dropout: float = 0.0
    grad_clip: float = 1.0
    kmeans_init: bool = True
    kmeans_niter: int = 20
    restart_dead_codes: bool = True  # codes no item used in an epoch restart at a random item's residual
    sinkhorn_epsilon: float = 0.003  # last level only; 0 turns Sinkhorn off (LC-Rec sk_epsilons 0 0 0.003)
    sinkhorn_iters: int = 50
    seed: int = 0
    device: str = "auto"  # "cpu", "cuda", or "auto" (cuda when available); determinism holds on CPU
    progress: bool = True  # tqdm bar over epochs (stderr)
    log_every: int = 50  # epochs between log lines

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_dims", tuple(int(h) for h in self.hidden_dims))
        check_shape(self.levels, self.codebook_size)
        if self.batch_size < 1 or self.max_epochs < 1 or self.patience < 1:
            raise ValueError("batch_size, max_epochs and patience must be >= 1")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "RQVAEConfig":
        return typed(cls, raw, "sid.rqvae")


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def build_model(in_dim: int, config: RQVAEConfig, codebook_size: int) -> RQVAE:
    return RQVAE(
        in_dim,
        config.hidden_dims,
        config.latent_dim,
        config.levels,
        codebook_size,
        beta=config.beta,
        dropout=config.dropout,
        sinkhorn_epsilon=config.sinkhorn_epsilon,
        sinkhorn_iters=config.sinkhorn_iters,
    )


@torch.no_grad()
def init_codebooks(model: RQVAE, x: torch.Tensor, config: RQVAEConfig) -> None:
    """Residual k-means (faiss) of the untrained encoder's latents -> every level's codebook."""
    model.eval()
    z = _batched(model.encoder, x, config.batch_size).cpu().numpy()
    books, _ = residual_kmeans(z, model.levels, model.codebooks.shape[1], seed=config.seed, niter=config.kmeans_niter)
    model.codebooks.copy_(torch.from_numpy(np.stack(books.codebooks)).to(model.codebooks.device))


def _batched(fn, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    return torch.cat([fn(chunk) for chunk in x.split(batch_size)])


@torch.no_grad()
def evaluate(model: RQVAE, x: torch.Tensor, batch_size: int) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Full-catalogue reconstruction MSE of the decoded nearest-codeword quantisation (eval mode, no
    Sinkhorn), with every item's codes [n, levels] and per-level residuals [n, levels, latent]."""
    model.eval()
    err, codes, residuals = 0.0, [], []
    for chunk in x.split(batch_size):
        c, r = model.codes_and_residuals(model.encoder(chunk))
        err += F.mse_loss(model.decode_codes(c), chunk, reduction="sum").item()
        codes.append(c)
        residuals.append(r)
    return err / x.numel(), torch.cat(codes), torch.cat(residuals)


@torch.no_grad()
def restart_dead_codes(model: RQVAE, codes: torch.Tensor, residuals: torch.Tensor, gen: torch.Generator) -> int:
    """Move every code that no item uses onto the residual (at that level) of a random item, so it
    competes again: without this, codes stranded by the moving encoder stay dead for good (half of
    the first level on Industrial after 50 epochs). Returns the number of codes moved."""
    moved = 0
    for level in range(model.levels):
        used = torch.bincount(codes[:, level], minlength=model.codebooks.shape[1]) > 0
        dead = torch.nonzero(~used).flatten()
        if len(dead):
            pick = torch.randint(0, codes.shape[0], (len(dead),), generator=gen).to(residuals.device)
            model.codebooks[level, dead.to(model.codebooks.device)] = residuals[pick, level]
            moved += len(dead)
    return moved


def train_rqvae(model: RQVAE, x: torch.Tensor, config: RQVAEConfig) -> dict[str, Any]:
    """Train in place with early stopping; the best-reconstruction weights are restored. Returns the
    per-epoch history (train loss, train reconstruction, eval reconstruction) and the stopping point."""
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(config.seed)
    history: dict[str, list[float]] = {"loss": [], "train_recon": [], "recon_mse": [], "restarted": []}
    best, best_epoch, best_state, wait = float("inf"), -1, None, 0
    bar = tqdm(range(config.max_epochs), desc="rq-vae", disable=not config.progress, leave=False)
    for epoch in bar:
        model.train()
        perm = torch.randperm(x.shape[0], generator=gen).to(x.device)
        loss_sum = recon_sum = 0.0
        for rows in perm.split(config.batch_size):
            batch = x[rows]
            out, _, vq_loss = model(batch, balance_last=True)
            recon = F.mse_loss(out, batch)
            loss = recon + config.quant_weight * vq_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            loss_sum += loss.item() * len(rows)
            recon_sum += recon.item() * len(rows)
        mse, codes, residuals = evaluate(model, x, config.batch_size)
        history["loss"].append(loss_sum / x.shape[0])
        history["train_recon"].append(recon_sum / x.shape[0])
        history["recon_mse"].append(mse)
        bar.set_postfix(loss=f"{history['loss'][-1]:.4g}", recon=f"{mse:.4g}")
        if mse < best * (1.0 - config.min_rel_improvement):
            best, best_epoch, wait = mse, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
        if config.restart_dead_codes and wait < config.patience:
            history["restarted"].append(restart_dead_codes(model, codes, residuals, gen))
        if config.log_every and (epoch + 1) % config.log_every == 0:
            log.info("rq-vae epoch %d: loss %.5g, recon mse %.5g (best %.5g @ %d)",
                     epoch + 1, history["loss"][-1], mse, best, best_epoch + 1)
        if wait >= config.patience:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    epochs = len(history["loss"])
    log.info("rq-vae: %d epochs, best recon mse %.5g at epoch %d", epochs, best, best_epoch + 1)
    return {"epochs": epochs, "best_epoch": best_epoch + 1, "best_recon_mse": best,
            "stopped_early": epochs < config.max_epochs, "history": history}


def fit_rqvae(
    vectors: np.ndarray,
    item_ids: Sequence[str],
    config: RQVAEConfig | None = None,
    resolve: str = "reassign",
    *,
    weights_path: str | Path | None = None,
) -> SemanticIds:
    """Train an RQ-VAE on `vectors` and return every item's semantic ID (collisions resolved by
    `resolve`: "reassign" or "append"). weights_path: also save the model there (safetensors)."""
    start = time.perf_counter()
    config = config or RQVAEConfig()
    x, ids = check_inputs(vectors, item_ids)
    k = effective_k(config.codebook_size, x.shape[0])
    device = _device(config.device)
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices):  # seed locally; the caller's RNG state is kept
        torch.manual_seed(config.seed)
        model = build_model(x.shape[1], config, k).to(device)
        xt = torch.from_numpy(x).to(device)
        if config.kmeans_init:
            init_codebooks(model, xt, config)
        training = train_rqvae(model, xt, config)
    model.eval()
    with torch.no_grad():
        z = _batched(model.encoder, xt, config.batch_size)
        raw = _batched(model.codes_of, z, config.batch_size).cpu().numpy()
    books = [b.cpu().numpy() for b in model.codebooks.detach()]
    codes = resolve_collisions(raw, resolve, vectors=z.cpu().numpy(), codebooks=books)

    def decode(c: np.ndarray) -> np.ndarray:
        return _batched(model.decode_codes, torch.from_numpy(c).to(device), config.batch_size).cpu().numpy()

    sizes = [config.codebook_size] * config.levels
    if codes.shape[1] > config.levels:
        sizes.append(int(codes[:, -1].max()) + 1)
    report = sid_report(codes, sizes, raw_codes=raw, vectors=x, reconstruction=decode(codes[:, : config.levels]))
    report["reconstruction_mse_raw"] = float(np.mean((decode(raw) - x) ** 2))
    settings = {**asdict(config), "effective_codebook_size": k, "resolve": resolve, "dim": int(x.shape[1]),
                "device": str(device), "torch_threads": torch.get_num_threads()}
    history = training.pop("history")
    report.update(quantiser="rqvae", settings=settings, training=training,
                  history={key: [round(v, 8) for v in vals] for key, vals in history.items()},
                  wall_s=round(time.perf_counter() - start, 3))
    if weights_path is not None:
        save_rqvae(model, config, weights_path)
    log.info("rq-vae: %d items, collision rate %.4f -> %.4f, recon mse %.5g, %.1fs", len(ids),
             report["collision_rate_raw"], report["collision_rate"], report["reconstruction_mse"], report["wall_s"])
    return SemanticIds(ids, codes, raw, report)


def save_rqvae(model: RQVAE, config: RQVAEConfig, path: str | Path) -> None:
    """Weights -> safetensors (atomic); config, input dim and codebook size in the metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    meta = {
        "config": json.dumps(asdict(config)),
        "in_dim": str(_in_dim(model)),
        "codebook_size": str(int(model.codebooks.shape[1])),
        "format": "recforge.sid.rqvae/1",
    }
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, tmp, metadata=meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_rqvae(path: str | Path, device: str = "cpu") -> tuple[RQVAE, RQVAEConfig]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata() or {}
    if meta.get("format") != "recforge.sid.rqvae/1":
        raise ValueError(f"{path}: not a recforge RQ-VAE weights file")
    config = RQVAEConfig.from_dict(json.loads(meta["config"]))
    model = build_model(int(meta["in_dim"]), config, int(meta["codebook_size"]))
    model.load_state_dict(load_file(str(path), device="cpu"))
    return model.to(_device(device)).eval(), config


def _in_dim(model: RQVAE) -> int:
    return next(m for m in model.encoder if isinstance(m, torch.nn.Linear)).in_features
