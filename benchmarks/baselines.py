"""Benchmark the classic baselines on one dataset: train each, score valid and test, time it.

    .venv/bin/python benchmarks/baselines.py --dataset Beauty --methods popularity,sasrec \
        --threads 1 --out benchmarks_out/baselines_Beauty.json

The dataset is built in memory with its adapter and options from config/config.yaml (or read from
--data-dir holding interactions.parquet and splits.parquet). SASRec uses the pipeline's settings from
the same file (`methods.sasrec` + the dataset's overrides; --sasrec '{"max_epochs": 30}' changes them):
it stops by epoch count, so a run is repeatable for a given --threads (the pipeline's is the job's
thread count, 1 with -c1). Test metrics are computed here, once,
after training; no model sees them. This is a benchmark, not a test: nothing is asserted.
Metrics: top-k methods HR/NDCG/MRR@{1,5,10,20} over the full catalogue with history items excluded
(ranks from the emitted lists, duplicates removed); rating methods MAE/RMSE.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from recforge.eval.metrics import hit_at_k, ndcg_at_k
from recforge.methods import mf, popularity, rating_means, sasrec

ROOT = Path(__file__).resolve().parents[1]
KS = (1, 5, 10, 20)
RATING = ("global_mean", "user_mean", "item_mean", "mf")
TOPK = ("popularity", "sasrec")

MF_PRESETS: dict[str, dict] = {"Movies": {"dim": 32, "reg": 0.5, "lr": 0.005}}


def sasrec_settings(args) -> dict:
    """The pipeline's SASRec settings for the dataset: config.yaml `methods.sasrec` with the dataset's
    `overrides.sasrec` on top (as rules/common.smk method_config), so a benchmark and the pipeline train
    the same model; --sasrec overrides them."""
    import yaml

    cfg = yaml.safe_load(Path(args.config).read_text())
    dataset = cfg["datasets"].get(args.dataset, {})
    return {**cfg["methods"]["sasrec"], **dataset.get("overrides", {}).get("sasrec", {})}


def load(args) -> tuple[pd.DataFrame, pd.DataFrame, list[str] | None]:
    if args.data_dir:
        d = Path(args.data_dir)
        items = pd.read_parquet(d / "items.parquet")["item_id"].tolist() if (d / "items.parquet").exists() else None
        return pd.read_parquet(d / "interactions.parquet"), pd.read_parquet(d / "splits.parquet"), items
    import yaml

    from recforge.data.build import load_dataset

    cfg = yaml.safe_load(Path(args.config).read_text())["datasets"][args.dataset]
    cwd = os.getcwd()
    os.chdir(ROOT)  # dataset paths in the config are relative to the repository root
    try:
        ds = load_dataset(cfg["adapter"], cfg.get("options", {}))
    finally:
        os.chdir(cwd)
    return ds.interactions, ds.samples, ds.items["item_id"].tolist()


def topk_metrics(pred: pd.DataFrame, samples: pd.DataFrame) -> dict:
    merged = pred.merge(samples[["sample_id", "item_id"]], on="sample_id", how="right", validate="one_to_one")
    out = {}
    for split, part in merged.groupby("split", sort=True):
        ranks = []
        for items, target in zip(part["items"], part["item_id"]):
            items = list(dict.fromkeys(items)) if isinstance(items, (list, np.ndarray)) else []
            ranks.append(items.index(target) + 1 if target in items else 0)
        ranks = np.array(ranks)
        m = {}
        for k in KS:
            m[f"HR@{k}"] = float(hit_at_k(ranks, k).mean())
            m[f"NDCG@{k}"] = float(ndcg_at_k(ranks, k).mean())
            m[f"MRR@{k}"] = float(np.where((ranks >= 1) & (ranks <= k), 1.0 / np.maximum(ranks, 1), 0.0).mean())
        out[split] = {"n": len(part), **m}
    return out


def rating_metrics(pred: pd.DataFrame, samples: pd.DataFrame) -> dict:
    merged = pred.merge(samples[["sample_id", "rating"]], on="sample_id", validate="one_to_one")
    out = {}
    for split, part in merged.groupby("split", sort=True):
        err = part["prediction"] - part["rating"]
        out[split] = {"n": len(part), "MAE": float(err.abs().mean()), "RMSE": float(np.sqrt((err**2).mean()))}
    return out


def run(method: str, inter, samples, items, args) -> dict:
    start, load0 = time.perf_counter(), os.getloadavg()
    extra: dict = {}
    eval_samples = samples[samples["split"].isin(["valid", "test"])]
    if method in ("global_mean", "user_mean", "item_mean"):
        pred = rating_means.predict(method, inter, samples)
    elif method == "mf":
        config = mf.MFConfig(**{**MF_PRESETS.get(args.dataset, {}), **json.loads(args.mf)})
        model = mf.train(inter, samples, config)
        pred = mf.predict(model, samples)
        extra = {"config": asdict(config), "best_epoch": model.best_epoch, "epochs": len(model.history)}
    elif method == "popularity":
        pred = popularity.predict(inter, samples, k=args.k)
    elif method == "sasrec":
        config = sasrec.SASRecConfig(**{"threads": args.threads, **sasrec_settings(args),
                                        **json.loads(args.sasrec)})
        model = sasrec.train(inter, samples, config, items=items)
        train_s = time.perf_counter() - start
        pred = sasrec.predict(model, inter, samples, k=args.k)
        extra = {"config": asdict(config), "best_epoch": model.best_epoch, "epochs": len(model.log),
                 "stop_reason": model.stop_reason, "train_s": train_s, "log": model.log}
        if model.refit is not None:
            # the same test samples scored by the selected (train-only) model: the plain protocol
            plain = sasrec.predict(model, inter, samples, k=args.k, splits=("test",), use_refit=False)
            extra["test_without_refit"] = topk_metrics(plain, eval_samples)["test"]
            extra["refit_s"] = sum(e["train_s"] for e in model.refit.log)
        if args.save_model:
            sasrec.save(model, Path(args.save_model))
    else:
        raise SystemExit(f"unknown method {method!r}")
    wall = time.perf_counter() - start
    missing = set(eval_samples["sample_id"]) - set(pred["sample_id"])
    if missing:
        raise SystemExit(f"{method}: {len(missing)} samples without a prediction")
    metrics = (rating_metrics if method in RATING else topk_metrics)(pred, eval_samples)
    return {"method": method, "protocol": "rating" if method in RATING else "topk", "wall_s": wall,
            "loadavg_start": load0, "loadavg_end": os.getloadavg(), "metrics": metrics, **extra}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="dataset name in the config (Movies, Beauty, ...)")
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--data-dir", help="read canonical parquet tables from here instead of the adapter")
    parser.add_argument("--methods", default="popularity,sasrec",
                        help="comma list of " + ",".join(RATING + TOPK))
    parser.add_argument("--sasrec", default="{}",
                        help="JSON overrides of the config's SASRec settings (methods.sasrec + dataset overrides)")
    parser.add_argument("--mf", default="{}", help="JSON overrides of MFConfig")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save-model", help="directory to save the SASRec model in")
    parser.add_argument("--out", help="JSON output path (default benchmarks_out/baselines_{dataset}.json)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    inter, samples, items = load(args)
    report = {
        "dataset": args.dataset, "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load_s": time.perf_counter() - t0,
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "results": [],
    }
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        result = run(method, inter, samples, items, args)
        report["results"].append(result)
        brief = {s: {k: round(v, 4) for k, v in m.items() if k in ("HR@10", "NDCG@10", "RMSE", "MAE")}
                 for s, m in result["metrics"].items()}
        logging.info("%s: %s in %.1f s", method, brief, result["wall_s"])
        out = Path(args.out or ROOT / "benchmarks_out" / f"baselines_{args.dataset}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))
    print(json.dumps([{"method": r["method"], "wall_s": round(r["wall_s"], 1), "test": r["metrics"].get("test")}
                      for r in report["results"]], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
