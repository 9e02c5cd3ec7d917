"""The method table (workflow/methods.yaml) is the one place that knows the methods: generic files name
none, every enabled method is in it, and each entry points at a config section and a predict rule that
exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TABLE = yaml.safe_load((REPO / "workflow/methods.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text())
PROTOCOLS = {"rating", "topk", "rerank", "ctr"}
GENERIC = ["rules/evaluate.smk", "rules/common.smk", "rules/train_common.smk", "workflow/scripts/gather_metrics.py",
           "workflow/scripts/evaluate.py", "profiles/local/config.yaml"]


def rule_names() -> set[str]:
    text = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    return set(re.findall(r"^rule (\w+):", text, re.M))


@pytest.mark.parametrize("path", GENERIC)
def test_generic_files_name_no_method(path):
    text = (REPO / path).read_text()
    named = sorted(m for m in TABLE if re.search(rf"\b{m}\b", text))
    assert not named, f"{path} names {named}: method knowledge belongs in workflow/methods.yaml"


@pytest.mark.parametrize("method", sorted(TABLE))
def test_table_entry_is_complete(method):
    entry = TABLE[method]
    assert entry["protocol"] in PROTOCOLS
    assert entry["predict"] in rule_names(), f"{method}: no rule {entry['predict']}"
    assert entry["config"] is None or entry["config"] in CONFIG["methods"], method
    for pattern in entry.get("efficiency", {}).values():
        assert pattern.startswith("results/{dataset}/"), pattern


def test_every_enabled_method_is_in_the_table():
    for dataset, settings in CONFIG["datasets"].items():
        assert set(settings["methods"]) <= set(TABLE), dataset


def test_an_unknown_method_stops_a_dry_run_with_the_known_ones(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"datasets": {"Movies": {"methods": ["popularity", "poplarity"]}}}))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "results/Movies/metrics.json", "--configfile",
                           str(bad)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "datasets.Movies.methods: unknown method(s) ['poplarity']" in proc.stdout + proc.stderr
