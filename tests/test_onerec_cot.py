"""Stage-3 CoT targets are written from the history alone: the target's own words never appear."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from onerec_example import HELD_OUT, sid_of, tables
from recforge.llm import GenerationResponse
from recforge.methods.onerec import cot as C
from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import CotConfig, TaskConfig
from recforge.methods.onerec.tasks import item_lookup, sequential_rows
from recforge.models.tokens import SID_BEGIN
from recforge.text.contexts import item_info

DOMAIN = "beauty product"


@pytest.fixture(scope="module")
def setup():
    items, interactions, samples = tables()
    seq = sequential_rows(interactions, samples, sid_of(), TaskConfig(max_history=20, sequential_train="all"))
    rows = seq[seq["split"] != "test"]
    contexts = C.cot_contexts(rows, interactions, samples, items, CotConfig(), DOMAIN, 20)
    info = item_lookup(items)
    targets = {k: item_info(info[t]) for k, t in zip(rows["key"], rows["target"])}
    return seq, rows, contexts, targets


def test_contexts_hold_the_history_and_not_the_target(setup):
    _, rows, contexts, _ = setup
    for key, history in zip(rows["key"], rows["history"]):
        assert [i["item_id"] for i in contexts[key]["history"]] == history
        assert "target" not in contexts[key]
    assert [i["rating"] for i in contexts["u2:5"]["history"]] == [4.0, 4.0, 5.0, 2.0, 5.0]


def test_history_cot_never_names_words_unique_to_the_target(setup):
    _, rows, contexts, targets = setup
    checked = 0
    for key in rows["key"]:
        target, history = targets[key], contexts[key]["history"]
        text = C.history_cot(contexts[key])
        assert text and SID_BEGIN not in text
        unique = C.target_only_words(target, history, DOMAIN)
        assert not C.leaked_terms(text, target, history, DOMAIN), (key, text)
        assert not any(w in text.lower() for w in unique)
        checked += bool(unique)
    assert checked >= 4  # the held-out targets (valid rows) do have words of their own


def test_valid_target_words_are_target_only_and_absent(setup):
    _, _, contexts, targets = setup
    unique = C.target_only_words(targets["u1:4"], contexts["u1:4"]["history"], DOMAIN)
    assert {"zinnia", "nail", "lacquer", "manicure", "lacquers", "dahlia"} <= unique
    text = C.history_cot(contexts["u1:4"]).lower()
    assert "skin care" in text and "rose face cream" in text  # it reasons from the history


def test_the_released_template_would_leak(setup):
    _, _, contexts, targets = setup
    released = "The user is likely to buy items in Beauty > Manicure > Lacquers category"
    assert C.leaked_terms(released, targets["u1:4"], contexts["u1:4"]["history"], DOMAIN) == {"manicure", "lacquers"}


def test_llm_answers_that_name_the_target_are_replaced(setup, monkeypatch):
    _, rows, contexts, targets = setup
    keys = ["u1:4", "u2:5"]
    answers = {"u1:4": "The user will buy the Zinnia Nail Lacquer next.", "u2:5": "Hair care and makeup dominate."}

    def fake_stage(requests, settings, cache, usage, stage):
        assert stage == "onerec_cot"
        for r in requests:  # the prompt shows the history, not the target
            assert r.task == "onerec_cot" and "Zinnia" not in r.messages[-1]["content"]
        return SimpleNamespace(responses=[GenerationResponse(r.request_id, answers[r.request_id], "fake", "m")
                                          for r in requests])

    monkeypatch.setattr(C, "run_stage", fake_stage)
    out = C.write_cots({k: contexts[k] for k in keys}, targets, CotConfig(), SimpleNamespace(backend="openai"))
    out = out.set_index("key")
    assert out.loc["u1:4", "leaked"] and out.loc["u1:4", "source"] == "history_stats"
    assert out.loc["u1:4", "cot"] == C.history_cot(contexts["u1:4"])
    assert not out.loc["u2:5", "leaked"] and out.loc["u2:5", "cot"] == answers["u2:5"]
    assert out.loc["u2:5", "source"] == "fake/m"


def test_reasoning_rows_put_the_cot_before_the_sid(setup):
    seq, rows, contexts, _ = setup
    cots = C.write_cots(contexts, {}, CotConfig())
    reasoning = C.reasoning_rows(seq, dict(zip(cots["key"], cots["cot"])), sid_of()).set_index("key")
    assert set(reasoning.index) == set(rows["key"])  # train and valid, never test
    row, seq_row = reasoning.loc["u2:3"], seq.set_index("key").loc["u2:3"]
    assert row["user"] == seq_row["user"] and row["system"] == seq_row["system"]  # identical inputs
    cot = C.history_cot(contexts["u2:3"])
    assert row["completion"] == f"<think>\n{cot}\n</think>\n{sid_of()['i6']}"


def test_completion_and_decoding_prefixes_agree():
    sid = sid_of()["i3"]
    for cot in ("", "Hair care recurs."):
        assert P.completion(sid, cot) == P.answer_prefix(cot) + sid[len(SID_BEGIN):]
    assert P.completion(sid) == "<think>\n\n</think>\n" + sid
    assert P.think_text("The user likes oils.\n</think>\n<|sid_begin|><s_a_1>") == "The user likes oils."
    assert P.think_text("short<|sid_begin|><s_a_1>") == "short"
    assert not HELD_OUT & {"i3"}
