"""The comparison tables of `recforge.eval.show` and the report, and the report's figures."""

import json

import numpy as np
import pandas as pd
import pytest

from recforge.data.scale import RatingScale
from recforge.eval import figures, show
from recforge.eval.compare import comparison, to_html, to_markdown


def row(method, protocol, metric, value, split="test", n=10):
    return {"method": method, "protocol": protocol, "split": split, "metric": metric, "value": value, "n": n}


METRICS = {
    "dataset": "Toy",
    "provenance": {"cost": {"popularity": {"total_s": 2.0}, "sasrec": {"total_s": 30.0}, "llm": {"total_s": 600.0}}},
    "efficiency": {"llm": {"slot": {"predictions_per_s": 3.0, "mean_prompt_tokens": 420.0}}},
    "table": [
        # popularity is a reference: it has the best HR@10 but must not be marked best
        row("popularity", "topk", "HR@10", 0.30),
        row("sasrec", "topk", "HR@10", 0.20),
        row("llm", "topk", "HR@10", 0.25),
        row("sasrec", "topk", "repeat_rate", 0.0),
        row("llm", "topk", "repeat_rate", 0.1),
        row("sasrec", "topk", "NDCG@10", 0.1),
        row("llm", "topk", "NDCG@10", 0.1),
        row("llm", "topk", "warm/HIT@10", 0.9),
        row("llm", "topk", "HR@10", 0.99, split="valid"),
        row("global_mean", "rating", "MAE", 0.5),
        row("mf", "rating", "MAE", 0.9),
        row("gbdt", "rating", "MAE", 0.7),
    ],
}


def test_best_is_marked_among_real_methods_only_and_lower_is_better_for_errors():
    topk, rating = comparison(METRICS)
    assert (topk.protocol, rating.protocol) == ("topk", "rating")
    assert [r["method"] for r in topk.rows] == ["popularity", "sasrec", "llm"]
    assert topk.best["HR@10"] == {"llm"}  # 0.25 beats sasrec; popularity's 0.30 is a reference
    assert rating.best["MAE"] == {"gbdt"}  # lowest error among real methods (global_mean is a reference)
    assert "NDCG@10" not in topk.best  # every real method ties: nothing to mark
    assert "repeat_rate" not in topk.best  # diagnostics are shown, not ranked
    assert "warm/HIT@10" not in topk.metrics  # scenario buckets stay in the full dump
    assert comparison(METRICS, split="valid")[0].rows[0]["values"] == {"HR@10": 0.99}


def test_markdown_and_html_show_every_method_with_references_tagged():
    tables = comparison(METRICS)
    text = to_markdown(tables)
    assert "| popularity (reference) | 10 | 0.3000 |" in text
    assert "| llm | 10 | **0.2500** |" in text
    page = to_html(tables, "Toy", ["config sha256 abc"])
    assert page.count("<tr class='reference'") == 2 and page.count("data-method=") == 6
    assert "<td class='best'>0.2500</td>" in page and "config sha256 abc" in page


def test_show_says_one_line_when_the_file_is_missing(tmp_path, capsys):
    missing = tmp_path / "results/X/metrics.json"
    assert show.main([str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not built yet" in err and str(missing) in err
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(METRICS))
    assert show.main([str(path)]) == 0
    assert "**0.2500**" in capsys.readouterr().out


def test_confusion_counts_by_nearest_valid_rating():
    scale = RatingScale(1, 5, 1)
    counts = figures.confusion_counts([5, 5, 1, 3], [4.6, 4.4, 1.0, 2.5], scale)
    expected = np.zeros((5, 5), dtype=int)
    expected[4, 4] = 1  # 4.6 -> 5
    expected[4, 3] = 1  # 4.4 -> 4
    expected[0, 0] = 1
    expected[2, 2] = 1  # 2.5 -> 3: ties go up, as the evaluator's accuracy
    np.testing.assert_array_equal(counts, expected)


def test_cost_figure_reads_top_level_or_first_section():
    assert figures.cost_figure({"predictions_per_s": 2.0}, "predictions_per_s") == 2.0
    assert figures.cost_figure(METRICS["efficiency"]["llm"], "mean_prompt_tokens") == 420.0
    assert figures.cost_figure(None, "predictions_per_s") is None


def test_stage_curves_skip_model_copies_and_reports_without_a_curve(tmp_path):
    (tmp_path / "onerec/stage2").mkdir(parents=True)
    report = {"selection": {"evaluations": [{"step": 5, "eval_loss": 2.0, "HR@10": 0.1}]}}
    (tmp_path / "onerec/stage2.report.json").write_text(json.dumps(report))
    (tmp_path / "onerec/stage2/stage_report.json").write_text(json.dumps(report))
    (tmp_path / "onerec/stage2/config.json").write_text("{}")  # a saved model's folder
    (tmp_path / "data").mkdir()
    (tmp_path / "data/data_report.json").write_text(json.dumps({"counts": {}}))
    assert figures.stage_curves(tmp_path) == {"onerec/stage2.report": report["selection"]["evaluations"]}


@pytest.mark.parametrize("empty", [False, True])
def test_every_figure_is_a_png(tmp_path, empty):
    """Each figure writes a PNG, also when the dataset has nothing for it (a figure that says so)."""
    interactions = pd.DataFrame({"user_id": list("aabbbc"), "item_id": list("xyxyzx"), "rating": [5.0, 4, 3, 5, 1, 2]})
    labels = pd.DataFrame({"sample_id": ["a:1", "b:2"], "rating": [4.0, 1.0]})
    predictions = {} if empty else {"mf": pd.DataFrame({"sample_id": ["a:1", "b:2"], "split": "test", "prediction": [3.9, np.nan]})}
    sid = None if empty else {"levels": 2, "utilisation": [1.0, 0.5], "perplexity": [3.0, 2.0],
                              "perplexity_raw": [3.0, 1.5], "codebook_sizes": [4, 4]}
    paths = {name: tmp_path / f"{name}.png" for name in ("qc", "curves", "sid", "conf", "isir", "data")}
    figures.quality_vs_cost(METRICS, paths["qc"])
    figures.training_curves(tmp_path, paths["curves"])
    figures.sid_utilisation(sid, paths["sid"])
    figures.rating_confusion(predictions, labels, RatingScale(1, 5, 1), paths["conf"])
    figures.isir_token_savings(METRICS, paths["isir"])
    figures.data_overview(interactions, paths["data"])
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
