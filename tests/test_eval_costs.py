"""A method's cost includes the upstream jobs it needs, shared ones marked (recforge.eval.costs), from
the benchmark files and the method table's `cost` lists."""

import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from recforge.eval.aggregate import gather, to_markdown
from recforge.eval.costs import DEFAULT_COST, cost_patterns, method_costs
from recforge.io import write_json

REPO = Path(__file__).resolve().parents[1]
TABLE = yaml.safe_load((REPO / "workflow/methods.yaml").read_text())


def _bench(root: Path, stage: str, seconds: float) -> None:
    path = root / f"{stage}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t1.0\n")


@pytest.fixture
def benchmarks(tmp_path):
    root = tmp_path / "benchmarks"
    for stage, s in {
        "data/prepare_dataset": 10, "embeddings/minilm": 300, "models/build_tiny_model": 400,
        "isir/clusters": 5, "isir/cluster_names": 1, "isir/prompts": 20, "isir/traces": 4, "isir/sft": 100,
        "isir/grpo": 200, "isir/teacher": 50, "isir/teacher_states": 30, "isir/student_align": 70,
        "isir/student_noalign": 60, "isir/evaluate": 1, "isir/predict": 40, "isir_noalign/predict": 41,
        "isir_noalign/evaluate": 1, "mf/train_predict": 8, "mf/evaluate": 1,
    }.items():
        _bench(root, stage, s)
    return root


def test_a_methods_cost_includes_its_upstream_jobs(benchmarks):
    patterns = {m: cost_patterns(TABLE[m]) for m in ("isir", "isir_noalign", "mf")}
    costs = method_costs(benchmarks, patterns)
    isir, noalign, mf = costs["isir"], costs["isir_noalign"], costs["mf"]
    # isir: its own predict/evaluate (41), its student (70), and everything upstream; not noalign's student
    assert isir["total_s"] == 10 + 300 + 400 + 5 + 1 + 20 + 4 + 100 + 200 + 50 + 30 + 70 + 40 + 1
    assert "isir/student_noalign" not in isir["stages"] and "isir/student_align" not in noalign["stages"]
    # the teacher chain and the data are shared; each student is its own
    assert isir["stages"]["isir/grpo"] == {"s": 200.0, "shared": True}
    assert isir["stages"]["isir/student_align"] == {"s": 70.0, "shared": False}
    assert isir["own_s"] == 70 + 40 + 1 and isir["shared_s"] == isir["total_s"] - isir["own_s"]
    assert mf == {"total_s": 19.0, "own_s": 9.0, "shared_s": 10.0, "stages": {
        "data/prepare_dataset": {"s": 10.0, "shared": True}, "mf/evaluate": {"s": 1.0, "shared": False},
        "mf/train_predict": {"s": 8.0, "shared": False}}}
    assert cost_patterns(TABLE["mf"]) == list(DEFAULT_COST)


def test_metrics_json_reports_the_costs(benchmarks, tmp_path):
    doc = {"method": "mf", "dataset": "D", "protocol": "rating", "results": []}
    write_json(doc, tmp_path / "mf.json")
    costs = method_costs(benchmarks, {"mf": cost_patterns(TABLE["mf"]), "isir": cost_patterns(TABLE["isir"])})
    out = gather([tmp_path / "mf.json"], tmp_path / "metrics.json", dataset="D", config={}, costs=costs)
    assert out["provenance"]["wall_time_s"] == {"mf": 19.0, "isir": costs["isir"]["total_s"]}
    assert out["provenance"]["cost"]["isir"]["stages"]["embeddings/minilm"]["shared"] is False  # mf needs none
    assert "| mf | 19.0 | 10.0 |" in to_markdown(out)


def test_every_cost_pattern_names_a_benchmark_some_rule_writes():
    """A renamed stage must not silently drop out of a method's cost."""
    text = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    written = [re.sub(r"\{\w+\}", "*", b) for b in re.findall(r'"results/\{dataset\}/benchmarks/([^"]+)"', text)]
    for method, entry in TABLE.items():
        for pattern in cost_patterns(entry):
            filled = pattern.format(method=method)
            assert any(fnmatch(filled, w) or fnmatch(w.replace("*", method), filled) for w in written), pattern
