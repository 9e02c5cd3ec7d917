"""Prediction plumbing: the prompts handed to constrained decoding, list merging, the topk frame."""

from __future__ import annotations

import pytest

from onerec_example import ITEMS, SEQUENCES, sid_of, tables, tokenizer
from recforge.methods import popularity
from recforge.methods._common import loo_frames
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
    def __init__(self, beams=("i2", "i2", "i1", "i3")):
        super().__init__(trie=None, generate=self._generate)
        self.seen = []
        self.beams = list(beams)

    def _generate(self, model, tok, prompts, trie, k, num_beams, batch_size, mode):
        assert mode == "sid" and num_beams >= k
        self.seen.extend(prompts)
        return [list(self.beams) for _ in prompts]


def test_no_cot_prompts_end_in_an_empty_think_and_the_sid_marker():
    items, interactions, samples = tables()
    tok = tokenizer()
    seq = sequential_rows(interactions, samples, sid_of(), TaskConfig())
    decoder = FakeDecoder()
    cfg = PredictConfig(k=2, num_beams=2, exclude_history=False, splits=("valid", "test"))
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
    frame = PR.predict(_NoModel(), tokenizer(), seq, decoder, PredictConfig(k=2, num_beams=4, splits=("valid", "test")), cot=False,
                       interactions=interactions, samples=samples)
    assert dict(zip(frame["sample_id"], frame["items"].map(list))) == {
        "u1:4": [], "u1:5": [], "u2:5": ["i2", "i1"], "u2:6": ["i2", "i1"]}


def test_the_whole_history_is_excluded_not_only_the_prompt_window(caplog):
    """A prompt window of 2 items, histories of 4 to 6: items bought before the window (u2's i3, i4)
    are excluded as well, and the excluded set is popularity's for every sample. A third user who bought
    every item in train gives every item a train count, so popularity can rank the whole catalogue."""
    catalogue = [i[0] for i in ITEMS]
    sequences = {**SEQUENCES, "u3": [*catalogue, "i1", "i2"]}
    interactions, samples = loo_frames(sequences, first_target=1)
    seq = sequential_rows(interactions, samples, sid_of(), TaskConfig(max_history=2))
    rows = seq[seq["split"].isin(["valid", "test"])].set_index("key")
    assert list(rows.loc["u2:6", "history"]) == ["i5", "i9"]  # the prompt window
    # Beams: the whole catalogue, i3 and i4 (in u2's history, outside the window) first; k = catalogue.
    decoder = FakeDecoder(["i3", "i4", *(i for i in catalogue if i not in ("i3", "i4"))])
    cfg = PredictConfig(k=len(catalogue), num_beams=len(catalogue), splits=("valid", "test"))
    with caplog.at_level("INFO", logger=PR.__name__):
        frame = PR.predict(_NoModel(), tokenizer(), seq, decoder, cfg, cot=False,
                           interactions=interactions, samples=samples)
    got = dict(zip(frame["sample_id"], frame["items"].map(list)))
    assert got["u2:6"] == ["i1", "i2", "i7", "i8", "i10"]  # i3 i4 i5 i6 i9 excluded
    assert got["u2:5"] == ["i1", "i2", "i7", "i8", "i9", "i10"]  # valid: i3 i4 i5 i6 excluded
    assert got["u3:11"] == []  # u3's whole history is the catalogue: nothing left, a shorter list
    assert "lists have fewer than k=10 items" in caplog.text

    pop = popularity.predict(interactions, samples, k=len(catalogue))
    assert frame["sample_id"].tolist() == pop["sample_id"].tolist()
    pop_excluded = {s: set(catalogue) - set(items) for s, items in zip(pop["sample_id"], pop["items"])}
    ours = {s: set(catalogue) - set(items) for s, items in got.items()}
    assert ours == pop_excluded
    assert ours["u2:6"] == {"i3", "i4", "i5", "i6", "i9"}
    for key, history in rows["history"].items():  # the window is a strict part of the excluded set
        assert set(history) <= ours[key]
    assert any(len(h) < len(ours[key]) for key, h in rows["history"].items())


def test_exclusion_falls_back_to_the_prompt_history_without_tables(caplog):
    items, interactions, samples = tables()
    seq = sequential_rows(interactions, samples, sid_of(), TaskConfig(max_history=2))
    with caplog.at_level("WARNING", logger=PR.__name__):
        frame = PR.predict(_NoModel(), tokenizer(), seq, FakeDecoder(["i3", "i4", "i1"]),
                           PredictConfig(k=2, num_beams=3, splits=("valid", "test")), cot=False)
    assert "excluding only the prompt's history" in caplog.text
    assert dict(zip(frame["sample_id"], frame["items"].map(list)))["u2:6"] == ["i3", "i4"]


def test_rows_without_a_sample_are_an_error():
    items, interactions, samples = tables()
    seq = sequential_rows(interactions, samples, sid_of(), TaskConfig())
    with pytest.raises(ValueError, match="no sample"):
        PR.predict(_NoModel(), tokenizer(), seq, FakeDecoder(), PredictConfig(k=2, num_beams=4, splits=("valid", "test")), cot=False,
                   interactions=interactions, samples=samples[samples["split"] != "test"])


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
    frame = PR.predict(_NoModel(), tok, seq, decoder, PredictConfig(k=2, num_beams=2, max_think_tokens=7, splits=("valid", "test")), cot=True)
    assert calls["max_new_tokens"] == 7 and calls["do_sample"] is False and calls["n"] == 1
    assert all(p.endswith("<|im_start|>assistant\n<think>\n") for p in calls["prompts"])
    assert decoder.seen[1].endswith("<think>\nthink 1\n</think>\n<|sid_begin|>")
    assert frame["thinks"].tolist() == [[f"think {n}"] for n in range(4)]


class _NoModel:
    def eval(self):
        return self
