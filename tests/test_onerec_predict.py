"""Prediction plumbing: the prompts handed to constrained decoding, list merging, the topk frame."""

from __future__ import annotations

import pytest

from onerec_example import sid_of, tables, tokenizer
from recforge.methods.onerec import predict as PR
from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import PredictConfig, TaskConfig
from recforge.methods.onerec.tasks import sequential_rows


def test_merge_rankings_by_best_rank_then_support():
    assert PR.merge_rankings([["a", "b", "c"], ["b", "d", "a"]], 10) == ["a", "b", "d", "c"]
    assert PR.merge_rankings([["a", "a", "b"], ["c"]], 2) == ["a", "c"]
    assert PR.merge_rankings([], 3) == []


def test_ranking_metrics():
    out = PR.ranking_metrics([["t", "x"], ["x", "y", "t"], ["x"]], ["t", "t", "t"], k=10)
    assert out["HR@10"] == pytest.approx(2 / 3)
    assert out["NDCG@10"] == pytest.approx((1 + 0.5) / 3)


class FakeDecoder(PR.SidDecoder):
    def __init__(self):
        super().__init__(trie=None, generate=self._generate)
        self.seen = []

    def _generate(self, model, tok, prompts, trie, k, num_beams, batch_size, mode):
        assert mode == "sid" and num_beams >= k
        self.seen.extend(prompts)
        return [["i2", "i2", "i1", "i3"] for _ in prompts]


def test_no_cot_prompts_end_in_an_empty_think_and_the_sid_marker():
    items, interactions, samples = tables()
    tok = tokenizer()
    seq = sequential_rows(interactions, samples, sid_of(), TaskConfig())
    decoder = FakeDecoder()
    cfg = PredictConfig(k=2, num_beams=2, exclude_history=False)
    frame = PR.predict(_NoModel(), tok, seq, decoder, cfg, cot=False)
    assert frame.columns.tolist() == ["sample_id", "split", "items"]
    assert frame["items"].tolist() == [["i2", "i1"]] * 4  # de-duplicated, cut to k
    valid = seq[seq["split"] == "valid"].iloc[0]
    rendered = P.render_prompt(tok, valid["system"], valid["user"])
    assert decoder.seen[0] == rendered + "<think>\n\n</think>\n<|sid_begin|>"
    assert rendered.endswith("<|im_start|>assistant\n") and valid["user"] in rendered


def test_history_items_are_dropped_before_the_cut_to_k():
    """Beams i2, i2, i1, i3 for every row: u1 has bought i1, i2 and i3 (nothing is left), u2 none of
    i1/i2 (both kept); the search asks for num_beams items, not k, to leave room."""
    items, interactions, samples = tables()
    seq = sequential_rows(interactions, samples, sid_of(), TaskConfig())
    decoder = FakeDecoder()
    frame = PR.predict(_NoModel(), tokenizer(), seq, decoder, PredictConfig(k=2, num_beams=4), cot=False)
    assert dict(zip(frame["sample_id"], frame["items"].map(list))) == {
        "u1:4": [], "u1:5": [], "u2:5": ["i2", "i1"], "u2:6": ["i2", "i1"]}


def test_cot_prompts_carry_the_models_think(monkeypatch):
    items, interactions, samples = tables()
    tok = tokenizer()
    seq = sequential_rows(interactions, samples, sid_of(), TaskConfig())
    calls = {}

    def fake_thinks(model, tokenizer, prompts, **kwargs):
        calls.update(kwargs, prompts=prompts)
        return [[f"think {n}"] for n in range(len(prompts))]

    monkeypatch.setattr(PR, "generate_thinks", fake_thinks)
    decoder = FakeDecoder()
    frame = PR.predict(_NoModel(), tok, seq, decoder, PredictConfig(k=2, num_beams=2, max_think_tokens=7), cot=True)
    assert calls["max_new_tokens"] == 7 and calls["do_sample"] is False and calls["n"] == 1
    assert all(p.endswith("<|im_start|>assistant\n<think>\n") for p in calls["prompts"])
    assert decoder.seen[1].endswith("<think>\nthink 1\n</think>\n<|sid_begin|>")
    assert frame["thinks"].tolist() == [[f"think {n}"] for n in range(4)]


class _NoModel:
    def eval(self):
        return self
