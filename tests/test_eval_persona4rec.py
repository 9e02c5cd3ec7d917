"""Golden test: our rerank evaluator on Persona4Rec's Amazon example files reproduces its own eval.py.

Reference values: Persona4Rec evaluation/eval.py (commit 91cddf5) on evaluation/example/amazon, as
recorded in the seed notes (HIT@5/10/20 = 0.3043/0.4565/0.6957, NDCG@10 = 0.2548). The MRR@20/NDCG@20
values below follow from eval.py's rule that "[PAD]" keeps its slot in the ranking: 29 of the 46 lists
hold one PAD, and skipping it instead would give NDCG@20 = 0.3159 and MRR@20 = 0.2106.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recforge.eval.persona4rec import load_example
from recforge.eval.protocols import evaluate

DATA = Path(__file__).parent / "data" / "persona4rec_eval"


@pytest.fixture(scope="module")
def result():
    predictions, samples = load_example(DATA / "candidate.jsonl", DATA / "gt.jsonl")
    (entry,) = evaluate("rerank", predictions, samples)
    return entry


def test_golden_hit_at_10(result):
    assert result["n"] == 46
    assert round(result["metrics"]["HIT@10"], 4) == 0.4565


def test_golden_all_overall_numbers(result):
    expected = {
        "HIT@5": 0.3043,
        "MRR@5": 0.1728,
        "NDCG@5": 0.2052,
        "HIT@10": 0.4565,
        "MRR@10": 0.1934,
        "NDCG@10": 0.2548,
        "HIT@20": 0.6957,
        "MRR@20": 0.2101,
        "NDCG@20": 0.3153,
    }
    assert {k: round(result["metrics"][k], 4) for k in expected} == expected


def test_loader_keeps_pad_and_order():
    predictions, samples = load_example(DATA / "candidate.jsonl", DATA / "gt.jsonl")
    assert len(predictions) == len(samples) == 46
    assert (predictions["items"].map(len) == 20).all()
    assert sum(items.count("[PAD]") for items in predictions["items"]) == 29
    assert predictions["items"].iloc[0][:2] == ["1647422965", "B0BZHLVVLK"]
    assert samples.set_index("sample_id").loc["AHYA7MIA4JJCVA4GJIAL2YMFHMEA", "item_id"] == "168463198X"


def test_loader_rejects_several_gt_items(tmp_path):
    gt = tmp_path / "gt.jsonl"
    gt.write_text('{"user_id": "u", "item_id": "a"}\n{"user_id": "u", "item_id": "b"}\n')
    with pytest.raises(ValueError, match="several GT items"):
        load_example(DATA / "candidate.jsonl", gt)
