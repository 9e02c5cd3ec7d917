"""The workflow as a user drives it: lint, config validation, DAG view, an end-to-end run on the
300-user fixture, incremental rebuilds and resuming after a killed job."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from recforge.methods.isir.predict import READOUTS
from report_browser import open_report
from workflow_helpers import check_metrics_invariants, copy_checkout, method_table, snakemake, workflow_config

REPO = Path(__file__).resolve().parents[1]
FIXTURE_CONFIG = "tests/config/fixture.yaml"
TARGET = "results/Movies/metrics.json"
BASELINES = ["global_mean", "user_mean", "item_mean", "mf", "popularity", "sasrec"]
ISIR = ["isir", "isir_noalign", "isir_cot"]
ONEREC = ["onerec_think", "onerec_think_cot"]
PERSONA4REC = ["rerank_base", "persona4rec", "persona4rec_blend"]
CTR_BASELINES = ["ctr_logreg", "ctr_sasrec"]
REASONINGREC = ["reasoningrec_zeroshot", "reasoningrec", "reasoningrec_noreason"]
RECLM = ["reclm_cgen", "reclm_token", "reclm_ret", "reclm_cgen_grpo"]
# SASRec is RecLM's teacher: a retrained SASRec relabels and retrains the RecLM models (GRPO included).
SASREC_DOWNSTREAM = {"reclm_samples": 1, "reclm_variant_samples": 2, "reclm_sft": 3, "reclm_grpo": 1, "reclm_predict": 4, "ctr_sasrec_predict": 1}


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Rule -> job count that a dry run would execute (parsed from Snakemake's job stats table).

    Targets go before --configfile, which takes every following word as a config file."""
    target, *rest = args
    proc = snakemake(workdir, target, "-n", "--quiet", "rules", *rest)
    out = proc.stdout
    assert "cannot be locked" not in out + proc.stderr, "a stale lock hides the plan"
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1]
    rows = re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M)
    return {rule: int(n) for rule, n in rows if rule != "total"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("workspace"))


def test_lint_is_clean(workspace):
    proc = snakemake(workspace, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rules_are_snakefmt_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_unknown_config_key_is_a_clear_error(workspace, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"methods": {"sasrec": {"hiden_size": 32}}}))
    proc = snakemake(workspace, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "hiden_size" in proc.stderr + proc.stdout


def test_wrong_config_type_is_a_clear_error(workspace, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"methods": {"sasrec": {"hidden_size": "big"}}}))
    proc = snakemake(workspace, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "'big' is not of type 'integer'" in proc.stderr + proc.stdout


def test_dag_renders_without_running(workspace):
    rulegraph = snakemake(workspace, "--rulegraph", "dot", TARGET).stdout
    assert "digraph" in rulegraph and "sasrec_train" in rulegraph
    mermaid = snakemake(workspace, "--dag", "mermaid-js", TARGET).stdout
    assert "sasrec_predict" in mermaid
    assert not (workspace / "results").exists(), "a DAG view must not run anything"
    if shutil.which("dot"):  # graphviz: .ci/run installs it, the README documents the one-liner
        svg = subprocess.run(["dot", "-Tsvg"], input=rulegraph, capture_output=True, text=True, check=True)
        assert "<svg" in svg.stdout


def test_local_profile_requests_no_gpu_and_slurm_profile_does():
    """Rules that train or generate ask for a GPU (MODEL_RESOURCES or gpu_request); the Slurm profile
    gives each its GPU model, and the local profile caps every request at its global `gpu: 0`."""
    gpu_rules = set(re.findall(r"^rule (\w+):(?:(?!^rule ).)*?^\s+(?:\*\*MODEL_RESOURCES|gpu=gpu_request\(\d)", "\n".join(
        p.read_text() for p in (REPO / "rules").glob("*.smk")), flags=re.M | re.S))
    assert {"isir_sft", "onerec_stage2", "sasrec_train", "build_tiny_model"} <= gpu_rules
    local = yaml.safe_load((REPO / "profiles/local/config.yaml").read_text())
    slurm = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert local["resources"]["gpu"] == 0
    for rule in gpu_rules:
        assert slurm["set-resources"][rule]["gpu"] >= 1 and slurm["set-resources"][rule]["gpu_model"], rule
    assert "gpu_model" not in slurm.get("default-resources", {})


@pytest.mark.slow
def test_fixture_pipeline_end_to_end(workspace):
    snakemake(workspace, TARGET, "-c2", "--configfile", FIXTURE_CONFIG)
    metrics = json.loads((workspace / TARGET).read_text())
    config = workflow_config(workspace, FIXTURE_CONFIG)
    enabled = config["datasets"]["Movies"]["methods"]
    assert set(BASELINES + ISIR + ONEREC + RECLM + CTR_BASELINES + REASONINGREC) <= set(enabled)
    for method, (entry,) in metrics["methods"].items():
        assert entry["protocol"] in {"rating", "topk", "ctr"}
        splits = {r["split"]: r for r in entry["results"]}
        assert splits["test"]["n"] == 300, method
        for value in splits["test"]["metrics"].values():
            if isinstance(value, (int, float)):
                assert value == value, f"{method}: NaN metric"
    rating = metrics["methods"]["user_mean"][0]["results"]
    test = next(r for r in rating if r["split"] == "test")["metrics"]
    assert 0 < test["MAE"] < 4 and test["RMSE"] >= test["MAE"]
    # Per-protocol invariants for every method the fixture config enables (exactly those are in
    # metrics.json): topk lists never leave the catalogue nor repeat the (excluded) history; rating
    # methods report invalid_rate and finite errors.
    check_metrics_invariants(metrics, config, method_table(workspace), "Movies")
    assert metrics["provenance"]["config_sha256"]
    assert (workspace / "results/Movies/sasrec/model/model.safetensors").exists()
    # Seed 000: every artifact of the chain, and the cost figures next to the metrics.
    isir = workspace / "results/Movies/isir"
    for artifact in ["verl/train.parquet", "sft/model", "grpo/model", "teacher/states/index.json",
                     "student_align/model", "student_noalign/model"]:
        assert (isir / artifact).exists(), artifact
    assert json.loads((isir / "student_align/report.json").read_text())["kd_ratio"] > 0
    assert json.loads((isir / "student_noalign/report.json").read_text())["kd_ratio"] == 0
    efficiency = metrics["efficiency"]
    prompts = efficiency["isir_prompts"]
    assert prompts["full"]["mean_tokens"] > prompts["compact"]["mean_tokens"] > 0
    assert efficiency["isir"]["mean_generated_tokens"] == 1.0
    assert efficiency["isir_cot"]["mean_generated_tokens"] > 1.0
    assert efficiency["isir"]["n"] == efficiency["isir_cot"]["n"] == 600  # valid (readout choice) + test
    assert efficiency["isir"]["readout"] in READOUTS and efficiency["isir_cot"]["readout"] in READOUTS
    assert efficiency["isir"]["parse_rate"] is None and efficiency["isir_cot"]["parse_rate"] >= 0.1
    # Seed 002: unique semantic IDs, the staged checkpoints, and decoding that never leaves the catalogue.
    sid_report = json.loads((workspace / "results/Movies/sid/report.json").read_text())
    assert sid_report["collision_rate"] == 0 and sid_report["n_unique_codes"] == sid_report["n_items"]
    for stage in ["stage1", "stage2", "stage3"]:
        assert (workspace / "results/Movies/onerec" / stage).is_dir(), stage
    for method in ONEREC:
        test = next(r for r in metrics["methods"][method][0]["results"] if r["split"] == "test")
        assert test["metrics"]["out_of_catalogue_rate"] == 0, method
    # Seed 004: windows with their label balance, both fine-tunes (K stratified, selected on valid AUC
    # read at the prediction slot), and the cost of the slot readout next to generating the reasoning.
    rr = workspace / "results/Movies/reasoningrec"
    balance = json.loads((rr / "windows.json").read_text())
    assert balance["test"]["n"] == 300 and 0 < balance["test"]["positive_rate"] < 1
    for variant in ("reason", "noreason"):
        report = json.loads((rr / f"sft_{variant}.report.json").read_text())
        assert report["train_samples"] == 16 and report["train_positive"] == 8, variant
        assert report["selection"]["key"] == "AUC" and report["reasoning"] == (variant == "reason")
        assert report["slot_weight"] == 0.5, variant  # the default slot-weighted loss
        assert (rr / f"sft_{variant}" / "model.safetensors").exists()
    for method in REASONINGREC:
        cost = efficiency[method]
        assert cost["slot"]["n"] == 300 and cost["slot"]["generated_tokens"] == 0, method
        assert cost["with_reasoning"]["mean_generated_tokens"] > 1, method
        similarity = cost["with_reasoning"]["similarity_to_teacher"]  # generated vs teacher reasoning
        assert similarity["n"] == 2 and 0 <= similarity["f1"] <= 1, method
    # Seed 001: the intermediate dataset, the teacher-labelled samples (shared, and cgen's and token's own),
    # one model per variant, and lists that name real items only (out-of-catalogue rate exactly 0), never
    # the history, never repeated.
    for name in ["data/category.jsonl", "data/metas.jsonl", "data/sequential.jsonl", "samples.parquet",
                 "cgen/samples.parquet", "token/samples.parquet", "cgen/model", "token/model", "ret/model/retrieval_head.safetensors",
                 "cgen_grpo/model"]:
        assert (workspace / "results/Movies/reclm" / name).exists(), name
    # GRPO from cgen: the SFT model is the first candidate, then every eval_steps (2) of its 4 steps.
    grpo = json.loads((workspace / "results/Movies/reclm/cgen_grpo/grpo.report.json").read_text())
    assert [r["step"] for r in grpo["selection"]["evaluations"]] == [0, 2, 4]
    for method in RECLM:
        test = next(r for r in metrics["methods"][method][0]["results"] if r["split"] == "test")["metrics"]
        assert test["mean_list_length"] > 0, method
        assert test["out_of_catalogue_rate"] == 0 and test["repeat_rate"] == 0 and test["in_history_rate"] == 0, method
        diag = efficiency[method]
        assert diag["splits"]["test"]["non_exist_rate"] == 0 and diag["splits"]["test"]["entries"] > 0, method
        assert diag["throughput"]["constrained"]["non_exist_rate"] == 0, method
        assert diag["throughput"]["constrained_lists_per_s"] > 0 and diag["throughput"]["unconstrained_lists_per_s"] > 0
        assert 0 <= diag["multi_round"]["general_reply_clean_rate"] <= 1, method
    for method in enabled:
        assert list((workspace / f"results/Movies/benchmarks/{method}").glob("*.tsv"))
        assert list((workspace / f"results/Movies/logs/{method}").glob("*.log"))
    # A finished run is stable: nothing reruns without a change.
    assert planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG) == {}


@pytest.mark.slow
def test_fixture_persona4rec_end_to_end(workspace):
    """Seed 003 on the Magazine fixture: every artifact of the chain, the three rerank methods scored on
    the same lists with scenarios, and the cost figures next to the metrics."""
    target = "results/Magazine/metrics.json"
    snakemake(workspace, target, "-c2", "--configfile", FIXTURE_CONFIG)
    metrics = json.loads((workspace / target).read_text())
    config = workflow_config(workspace, FIXTURE_CONFIG)
    check_metrics_invariants(metrics, config, method_table(workspace), "Magazine")
    for method in PERSONA4REC:
        (entry,) = metrics["methods"][method]
        assert entry["protocol"] == "rerank"
        splits = {r["split"]: r for r in entry["results"]}
        assert set(splits) == {"valid", "test"}, method
        assert set(splits["test"]["scenarios"]["buckets"]) == {"warm", "cold", "head", "tail"}, method
    n = {m: metrics["methods"][m][0]["results"][-1]["n"] for m in PERSONA4REC}
    assert len(set(n.values())) == 1, n  # the same samples, the same lists
    root = workspace / "results/Magazine/persona4rec"
    for artifact in ["reviews.parquet", "aspects.parquet", "grouped.parquet", "personas.parquet", "history.parquet",
                     "pairs.parquet", "selections.parquet", "candidates.parquet", "encoder", "cache/meta.json",
                     "cache/personas.fp16.npy", "cache/interactions.ids.parquet"]:
        assert (root / artifact).exists(), artifact
    efficiency = metrics["efficiency"]
    assert efficiency["persona4rec_aspects"]["parse"]["failed"] == 0
    assert efficiency["persona4rec_selection"]["parse"]["pairs"] > 0
    assert 0 < efficiency["persona4rec_candidates"]["splits"]["test"]["target_in_list"] < 1
    assert efficiency["persona4rec_encoder"]["selected_epoch"] in (0, 1)
    assert efficiency["persona4rec"]["online_latency_per_user"]["n"] == n["persona4rec"]
    assert 0 < efficiency["persona4rec_blend"]["alpha"] < 1
    # No test-phase review reaches any stage.
    assert set(pd.read_parquet(root / "reviews.parquet")["split"]) <= {"train", "valid"}
    assert planned_jobs(workspace, target, "--configfile", FIXTURE_CONFIG) == {}


@pytest.mark.slow
def test_report_renders_in_chromium(workspace):
    """`snakemake --report` on the finished fixture run, opened in headless Chromium: the app renders
    with its rulegraph, every figure decodes to a non-blank image, and the comparison page has a row per
    Movies method. The screenshot is kept under results/ci/ (a CI artifact)."""
    figures = "results/Movies/report/comparison.html"
    snakemake(workspace, figures, "-c2", "--configfile", FIXTURE_CONFIG)
    snakemake(workspace, "--report", "results/Movies/report.html", figures, "--configfile", FIXTURE_CONFIG)
    records, pages = open_report(workspace / "results/Movies/report.html", REPO / "results/ci/report.png")
    images = [r for r in records if r["mime"] == "image/png"]
    assert len(images) == 6, records
    for image in images:
        assert image["width"] > 100 and image["height"] > 100 and image["colours"] > 1, image
    (page,) = pages.values()
    methods = set(re.findall(r"data-method='(\w+)'", page))
    assert methods == set(workflow_config(workspace, FIXTURE_CONFIG)["datasets"]["Movies"]["methods"])


@pytest.mark.slow
def test_changing_one_value_reruns_only_its_dependents(workspace, tmp_path):
    assert (workspace / TARGET).exists(), "runs after the end-to-end test"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump({"methods": {"sasrec": {"hidden_size": 32}}}))
    jobs = planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG, str(changed))
    assert jobs == {"sasrec_train": 1, "sasrec_predict": 1, "evaluate": 6, "gather_metrics": 1, **SASREC_DOWNSTREAM}

    changed.write_text(yaml.safe_dump({"methods": {"mf": {"dim": 8}}}))
    jobs = planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG, str(changed))
    assert jobs == {"mf": 1, "evaluate": 1, "gather_metrics": 1}

    # The alignment weight concerns the aligned student only, not the kd_ratio-0 one or the teacher.
    changed.write_text(yaml.safe_dump({"methods": {"isir": {"align": {"kd_ratio": 0.9}}}}))
    jobs = planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG, str(changed))
    assert jobs == {"isir_align": 1, "isir_predict": 1, "evaluate": 1, "gather_metrics": 1}

    # A change to one RecLM variant's settings (variants.<variant>) reruns that variant only: its SFT,
    # its own sample table, or its decoding.
    for section, change, first in [("sft", {"seed": 1}, {"reclm_sft": 1}),
                                   ("samples", {"seed": 1}, {"reclm_variant_samples": 1, "reclm_sft": 1}),
                                   ("predict", {"batch_size": 7}, {})]:
        variants = {"reclm": {"variants": {"ret": {section: change}}}}
        changed.write_text(yaml.safe_dump({"datasets": {"Movies": {"overrides": variants}}}))
        jobs = planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG, str(changed))
        assert jobs == {**first, "reclm_predict": 1, "evaluate": 1, "gather_metrics": 1}, section

    # The CoT think length is a decoding setting: no OneRec-Think stage retrains.
    changed.write_text(yaml.safe_dump({"methods": {"onerec_think": {"predict": {"max_think_tokens": 8}}}}))
    jobs = planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG, str(changed))
    assert jobs == {"onerec_think_predict": 2, "evaluate": 2, "gather_metrics": 1}

    # Restating defaults (config.yaml's own values, a training stage's and the launcher's) reruns nothing.
    restated = {"methods": {"isir": {"align": {"kd_ratio": 0.5}}, "onerec_think": {"stage2": {"select": "hr"}}},
                "launcher": {"cpu_processes": 1}}
    changed.write_text(yaml.safe_dump(restated))
    assert planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG, str(changed)) == {}

    # A dataset override merges key by key: restating one predict setting (the fixture's own value)
    # keeps the section's other settings, so no OneRec job is stale; only metrics.json, which records
    # the dataset's config as given, is rewritten.
    override = {"onerec_think": {"predict": {"max_think_tokens": 24}}}
    changed.write_text(yaml.safe_dump({"datasets": {"Movies": {"overrides": override}}}))
    jobs = planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG, str(changed))
    assert jobs == {"gather_metrics": 1}


@pytest.mark.slow
def test_killed_run_resumes_and_loses_nothing(workspace):
    assert (workspace / TARGET).exists(), "runs after the end-to-end test"
    before = json.loads((workspace / "results/Movies/metrics/popularity.json").read_text())
    # As in a first run, SASRec's downstream artifacts do not exist yet (Snakemake does not rebuild a
    # missing intermediate whose consumers are up to date). Retrain it and SIGKILL the run mid-training.
    for artifact in ["predictions/sasrec.parquet", "metrics/sasrec.json", "metrics.json"]:
        (workspace / "results/Movies" / artifact).unlink()
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", TARGET, "-c2", "-R", "sasrec_train", "--configfile", FIXTURE_CONFIG],
        cwd=workspace,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Kill once the rerun's log (appended to after `started`) shows that training began.
    log = workspace / "results/Movies/logs/sasrec/train.log"
    deadline = time.time() + 120
    while time.time() < deadline and not (
        log.exists() and log.stat().st_mtime > started and "epoch" in log.read_text()
    ):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # A SIGKILLed Snakemake leaves its lock behind: release it as the README says, then rerun. The rerun
    # finishes the job that was killed and leaves finished artifacts alone.
    snakemake(workspace, TARGET, "--unlock", "--configfile", FIXTURE_CONFIG)
    # RecLM's teacher is the retrained SASRec: its labels and models are redone too.
    jobs = planned_jobs(workspace, TARGET, "--rerun-incomplete", "--configfile", FIXTURE_CONFIG)
    assert jobs == {"sasrec_train": 1, "sasrec_predict": 1, "evaluate": 6, "gather_metrics": 1, **SASREC_DOWNSTREAM}
    snakemake(workspace, TARGET, "-c2", "--rerun-incomplete", "--configfile", FIXTURE_CONFIG)
    assert json.loads((workspace / "results/Movies/metrics/popularity.json").read_text()) == before
    assert planned_jobs(workspace, TARGET, "--configfile", FIXTURE_CONFIG) == {}
