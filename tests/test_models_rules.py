"""rules/models.smk as Snakemake runs it: build the tiny model, embed items, summarise items, then
rerun exactly what a config change affects."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from llm_fixtures.helpers import movies_interactions, movies_items

REPO = Path(__file__).resolve().parents[1]
TINY = "results/Movies/models/tiny/build_report.json"
EMBEDDINGS = "results/Movies/embeddings/minilm.npy"
SUMMARIES = "results/Movies/text/item_summaries.parquet"
TARGETS = [TINY, EMBEDDINGS, SUMMARIES]
SMALL = {
    "models": {
        "tiny": {
            "vocab_size": 800,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_layers": 2,
            "num_heads": 2,
            "num_kv_heads": 1,
            "head_dim": 16,
            "eval_blocks": 8,
            "device": "cpu",
            "pretrain": {"steps": 20, "batch_size": 4, "seq_len": 64, "warmup_steps": 2},
            "corpus": {"max_users": 30, "max_item_prompts": 20},
        }
    },
    "embedder": {"presets": {"minilm": {"device": "cpu"}}},
}
ONE_THREAD = ["--set-threads", "build_tiny_model=1", "embed_items=1", "summarize_items=1"]


def snakemake(workdir: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def planned(workdir: Path, *configfiles: str) -> dict[str, int]:
    out = snakemake(workdir, *TARGETS, "-n", "--configfile", *configfiles)
    if "Nothing to be done" in out:
        return {}
    return {
        r: int(n)
        for r, n in re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:", 1)[1], re.M)
        if r != "total"
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("models_workspace")
    for name in ["Snakefile", "rules", "workflow", "config", "envs", "src"]:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    snakefile = (dest / "Snakefile").read_text()
    if "rules/models.smk" not in snakefile:  # until the Snakefile includes it
        (dest / "Snakefile").write_text(snakefile + '\ninclude: "rules/models.smk"\n')
    # Canonical tables as rule prepare_dataset writes them (200 items, their users' events).
    items = movies_items().head(200)
    items["text"] = items["title"]
    events = movies_interactions()
    events = events[events["item_id"].isin(set(items["item_id"]))]
    data = dest / "results" / "Movies" / "data"
    data.mkdir(parents=True)
    items.to_parquet(data / "items.parquet", index=False)
    events.to_parquet(data / "interactions.parquet", index=False)
    (dest / "small.yaml").write_text(yaml.safe_dump(SMALL))
    snakemake(dest, *TARGETS, "-c2", *ONE_THREAD, "--configfile", "small.yaml")
    return dest


def test_rules_write_their_artifacts(workspace):
    report = json.loads((workspace / TINY).read_text())
    assert report["config"]["hidden_size"] == 32 and report["heldout_perplexity"] > 0
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        assert (workspace / TINY).with_name(name).is_file()
    vectors = np.load(workspace / EMBEDDINGS)
    ids = pd.read_parquet(workspace / "results/Movies/embeddings/minilm.ids.parquet")
    assert vectors.shape == (200, 384) and vectors.dtype == np.float32 and ids["item_id"].is_unique
    summaries = pd.read_parquet(workspace / SUMMARIES)
    assert len(summaries) == 200 and (summaries["backend"] == "heuristic").all()
    usage = json.loads((workspace / "results/Movies/text/item_summaries.usage.json").read_text())
    assert usage["requests"] == 200 and usage["backend"] == "heuristic"
    assert (workspace / "results/llm_cache/Movies/item_summaries.sqlite").is_file()
    for kind in ("logs", "benchmarks"):
        assert len(list((workspace / "results/Movies" / kind).rglob("*.*"))) >= 3


def test_a_change_reruns_only_what_it_affects(workspace):
    assert planned(workspace, "small.yaml") == {}

    def change(name: str, patch: dict) -> dict[str, int]:
        (workspace / name).write_text(yaml.safe_dump(patch))
        return planned(workspace, "small.yaml", name)

    assert change("a.yaml", {"llm": {"tasks": {"item_summary": {"max_words": 61}}}}) == {"summarize_items": 1}
    assert change("b.yaml", {"models": {"tiny": {"pretrain": {"steps": 21}}}}) == {"build_tiny_model": 1}
    assert change("c.yaml", {"embedder": {"presets": {"minilm": {"batch_size": 8}}}}) == {"embed_items": 1}
    # Settings of a backend that is not selected, and other models' presets, rerun nothing.
    assert change("d.yaml", {"llm": {"openai": {"model": "gpt-x"}}}) == {}
    assert change("e.yaml", {"models": {"presets": {"qwen3-4b": {"dtype": "float16"}}}}) == {}


def test_local_llm_backend_depends_on_the_built_model(workspace):
    (workspace / "t.yaml").write_text(yaml.safe_dump({"llm": {"backend": "transformers"}}))
    out = snakemake(workspace, SUMMARIES, "-n", "-p", "--configfile", "small.yaml", "t.yaml")
    assert "summarize_items" in out and "results/Movies/models/tiny/build_report.json" in out


def test_one_stage_on_the_packaged_model_depends_on_its_conversion(workspace):
    # item_summaries alone on SmolLM2 (a preset name as the backend's model): that rule needs the
    # converted checkpoint; the tiny model is not rebuilt and no other stage changes backend.
    (workspace / "s.yaml").write_text(yaml.safe_dump({"llm": {
        "stage_backends": {"item_summaries": "transformers"}, "transformers": {"model": "smollm2-135m"}}}))
    out = snakemake(workspace, SUMMARIES, "-n", "-p", "--configfile", "small.yaml", "s.yaml")
    assert "convert_packaged_model" in out and "results/models/smollm2-135m-instruct/provenance.json" in out
    assert planned(workspace, "small.yaml", "s.yaml") == {"convert_packaged_model": 1, "summarize_items": 1}


def test_unknown_llm_stage_is_a_clear_error(workspace):
    (workspace / "u.yaml").write_text(yaml.safe_dump({"llm": {"stage_backends": {"item_summary": "transformers"}}}))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "small.yaml", "u.yaml"],
                          cwd=workspace, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "llm.stage_backends: unknown stage(s) ['item_summary']" in proc.stdout + proc.stderr
