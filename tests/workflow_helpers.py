"""Shared by the workflow and Slurm tests: a copy of the checkout to run the workflow in, and the
invariants every method's entry in metrics.json must satisfy (keyed by protocol)."""

from __future__ import annotations

import copy
import math
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CHECKOUT = ["Snakefile", "rules", "workflow", "config", "envs", "profiles", "resources", "src", "tests"]


def copy_checkout(dest: Path) -> Path:
    """Copy what the workflow needs (not results/) so that test runs never touch the developer's results/."""
    for name in CHECKOUT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    return dest


# A guard against a hung run, not a timed assert: the fixture DAG takes ~6 min on an idle 2-core
# machine and over 20 min on a loaded one.
def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 2700) -> subprocess.CompletedProcess:
    """`snakemake *args` in `workdir` with this interpreter's Snakemake; raises on failure unless not `check`."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


# ------------------------------------------------------------------------ metrics.json invariants
def merged(base: dict, override: dict) -> dict:
    """`base` with `override` merged in key by key, nested mappings included (as Snakemake merges
    config files and rules/common.smk merges dataset overrides)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both else copy.deepcopy(value)
    return out


def workflow_config(root: Path, *configfiles: str) -> dict:
    """The config a run with `--configfile *configfiles` sees: config/config.yaml, then each file."""
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    for name in configfiles:
        config = merged(config, yaml.safe_load((root / name).read_text()) or {})
    return config


def method_table(root: Path) -> dict:
    """workflow/methods.yaml: method -> {protocol, config, predict, ...}."""
    return yaml.safe_load((root / "workflow/methods.yaml").read_text())


def method_settings(config: dict, table: dict, dataset: str, method: str) -> dict:
    """A method's settings for a dataset (its config section, dataset overrides merged in)."""
    section = table[method]["config"]
    if section is None:
        return {}
    overrides = config["datasets"][dataset].get("overrides", {}).get(section, {})
    return merged(config["methods"].get(section, {}), overrides)


def excludes_history(settings: dict) -> bool:
    """False only where an `exclude_history` key anywhere in the settings is false (the methods'
    default is to exclude the sample's history)."""
    flags = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "exclude_history":
                    flags.append(bool(value))
                walk(value)

    walk(settings)
    return all(flags)


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_topk(method: str, split: str, metrics: dict, settings: dict) -> None:
    """A top-k list never leaves the catalogue, and never repeats the history where it is excluded.
    Some lists are not empty: with none, every rate is undefined (None) and nothing was checked."""
    assert metrics["mean_list_length"] > 0, (method, split, "every list is empty")
    assert metrics["out_of_catalogue_rate"] == 0, (method, split, metrics["out_of_catalogue_rate"])
    if excludes_history(settings):
        assert metrics["in_history_rate"] == 0, (method, split, metrics["in_history_rate"])
    else:
        assert 0 <= metrics["in_history_rate"] <= 1, (method, split)


def check_rating(method: str, split: str, metrics: dict, settings: dict) -> None:
    """The invalid-output rate is reported, and the errors are finite."""
    invalid = metrics.get("invalid_rate")
    assert _finite_number(invalid) and 0 <= invalid <= 1, (method, split, invalid)
    for name in ("MAE", "RMSE"):
        assert _finite_number(metrics[name]), (method, split, name, metrics[name])
    assert metrics["RMSE"] >= metrics["MAE"] >= 0, (method, split)


def check_rerank(method: str, split: str, metrics: dict, settings: dict) -> None:
    """A re-ranked list is a full candidate list: as long as the first stage's (`candidates`), no
    padding added, and HIT/NDCG grow with K."""
    if "candidates" in settings:
        assert metrics["mean_list_length"] == settings["candidates"], (method, split, metrics["mean_list_length"])
    assert 0 <= metrics["pad_rate"] <= 1, (method, split)
    hits = [metrics[f"HIT@{k}"] for k in (5, 10, 20)]
    assert hits == sorted(hits) and all(0 <= h <= 1 for h in hits), (method, split, hits)
    assert 0 <= metrics["NDCG@10"] <= metrics["HIT@10"], (method, split)


def check_ctr(method: str, split: str, metrics: dict, settings: dict) -> None:
    """AUC (from probabilities; the evaluator refuses hard labels) in [0, 1] and a finite log-loss."""
    assert _finite_number(metrics["AUC"]) and 0 <= metrics["AUC"] <= 1, (method, split, metrics["AUC"])
    assert _finite_number(metrics["log_loss"]) and metrics["log_loss"] > 0, (method, split)


#: Invariants every method of a protocol must satisfy on every split it reports, keyed by protocol.
PROTOCOL_INVARIANTS = {"topk": check_topk, "rating": check_rating, "rerank": check_rerank, "ctr": check_ctr}


def check_metrics_invariants(metrics: dict, config: dict, table: dict, dataset: str) -> None:
    """metrics.json holds exactly the dataset's enabled methods, each once with the protocol of the
    method table and at least one split, and each split passes its protocol's invariants."""
    enabled = config["datasets"][dataset]["methods"]
    assert sorted(metrics["methods"]) == sorted(enabled)
    for method in enabled:
        entries = metrics["methods"][method]
        assert len(entries) == 1, method
        (entry,) = entries
        protocol = table[method]["protocol"]
        assert entry["protocol"] == protocol, (method, entry["protocol"], protocol)
        assert entry["results"], f"{method}: no split scored"
        assert protocol in PROTOCOL_INVARIANTS, f"{method}: no invariants for protocol {protocol!r}"
        check = PROTOCOL_INVARIANTS[protocol]
        settings = method_settings(config, table, dataset, method)
        for result in entry["results"]:
            check(method, result["split"], result["metrics"], settings)
