"""RecLM-uni (recforge.methods.reclm): export and adapter, SFT labels, loss, scope mask, teacher service,
diagnostics. Hand-computed values throughout."""

from __future__ import annotations

import json
import math
import socket
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from recforge.data.adapters import load_reclm
from recforge.decode import ItemTrie
from recforge.io import write_parquet
from recforge.methods import sasrec
from recforge.methods._common import loo_frames
from recforge.methods.reclm import export, labels, samples as S
from recforge.methods.reclm.config import SampleConfig, TeacherConfig, check_port
from recforge.methods.reclm.data import encode_conversation, history_labels, retrieval_targets
from recforge.methods.reclm.loss import item_spans, reclm_loss, scope_positions
from recforge.methods.reclm.predict import diagnostics
from recforge.methods.reclm.teacher import TeacherClient, TeacherService, TeacherUnavailable
from recforge.models.tokenizer import train_bpe_tokenizer
from recforge.models.tokens import ITEM_END, ITEM_START

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tokenizer():
    texts = ["The Matrix", "Heat", "Heat 2", "Alien", "Aliens", "a movie night", "start of an item",
             "end of an item", "You need to generate a recommendation list"] * 20
    return train_bpe_tokenizer(texts, vocab_size=300)


# ------------------------------------------------------------------------------------ export
def test_unique_titles_suffix_repeats_in_order():
    assert export.unique_titles(["A", "B", "A", "A", "A (1)"]) == ["A", "B", "A (2)", "A (3)", "A (1)"]
    assert export.unique_titles(["X", "X"]) == ["X", "X (1)"]


def test_item_titles_round_trip_without_special_tokens(tokenizer):
    items = pd.DataFrame({"item_id": ["1", "2", "3", "4"], "title": ["Heat", " Heat\n", "", "Alien"]})
    titles = export.item_titles(tokenizer, items)
    assert titles == {"1": "Heat", "2": "Heat (1)", "3": "item 3", "4": "Alien"}
    assert not any("<|" in t for t in titles.values())  # no BOS/special token text (seed bug)
    assert len(set(titles.values())) == len(titles)


def test_export_and_adapter_round_trip(tokenizer, tmp_path):
    items = pd.DataFrame({"item_id": ["1", "2", "3", "4"], "title": ["Heat", "Alien", "Aliens", "Heat"],
                          "categories": [["Movies & TV", "Action"], ["Movies & TV", "Sci-Fi"],
                                         ["Movies & TV", "Sci-Fi", "Space"], []],
                          "description": ["", "d", "", ""], "brand": ["", "", "", ""]})
    inter, _ = loo_frames({"u1": ["1", "2", "3", "4"], "u2": ["3", "1", "2"]})
    docs = export.export(items, inter, tokenizer)
    assert docs["category.jsonl"] == {"Action": ["1"], "Sci-Fi": ["2", "3"], "Sci-Fi, Space": ["3"]}
    assert docs["sequential.jsonl"] == {"u1": ["1", "2", "3", "4"], "u2": ["3", "1", "2"]}
    assert docs["metas.jsonl"]["4"]["title_t"] == "Heat (1)"
    export.write_intermediate(docs, {name: tmp_path / name for name in export.FILES})
    assert export.read_intermediate(tmp_path) == json.loads(json.dumps(docs))
    ds = load_reclm(tmp_path)
    assert ds.items.set_index("item_id").loc["3", "categories"] == ["Movies & TV", "Sci-Fi", "Space"]
    back = ds.interactions.sort_values(["user_id", "position"])
    assert back.groupby("user_id")["item_id"].apply(list).to_dict() == docs["sequential.jsonl"]
    assert back[back.user_id == "u1"]["split"].tolist() == ["train", "train", "valid", "test"]


# ------------------------------------------------------------------------------------ labels
def test_labels_are_target_then_teacher_without_target():
    got = S.label_lists(["t", "x"], [["a", "t", "b", "c"], ["x", "y"]], [3, 1])
    assert got == [["t", "a", "b"], ["x"]]


def test_train_samples_come_from_train_events_only():
    inter, _ = loo_frames({"u1": ["1", "2", "3", "4", "5"], "u2": ["6", "7", "8"]})
    drawn = S.draw_train_samples(inter, SampleConfig(samples_per_user=20, max_item_length=2, seed=3))
    train_items = {"u1": ["1", "2", "3"], "u2": ["6"]}  # u2 has one train event: no sample
    assert set(drawn["user_id"]) == {"u1"}
    for h, p, t in zip(drawn["history"], drawn["prefix"], drawn["target"]):
        seq = train_items["u1"]
        assert t in seq[1:] and t not in ("4", "5")
        assert p == seq[: seq.index(t)] and 1 <= len(h) <= 2 and h == p[-len(h):]


def test_last_position_draws_take_the_last_train_event_and_the_full_window():
    inter, _ = loo_frames({"u1": ["1", "2", "3", "4", "5", "6"], "u2": ["7", "8", "9", "10"]})
    drawn = S.draw_train_samples(inter, SampleConfig(samples_per_user=3, max_item_length=2, positions="last"))
    assert len(drawn) == 6 and drawn["sample_id"].is_unique
    by_user = {u: g for u, g in drawn.groupby("user_id")}
    assert by_user["u1"]["target"].tolist() == ["4"] * 3  # 5 and 6 are valid and test
    assert [list(h) for h in by_user["u1"]["history"]] == [["2", "3"]] * 3
    assert [list(p) for p in by_user["u1"]["prefix"]] == [["1", "2", "3"]] * 3
    assert by_user["u2"]["target"].tolist() == ["8"] * 3 and [list(h) for h in by_user["u2"]["history"]] == [["7"]] * 3
    with pytest.raises(ValueError, match="positions"):
        SampleConfig(positions="first")


def test_label_samples_exclude_history_through_the_teacher():
    inter, _ = loo_frames({"u1": ["1", "2", "3", "4", "5", "6"]})
    drawn = S.draw_train_samples(inter, SampleConfig(samples_per_user=5, seed=0))
    asked = []

    def teacher(users, prefixes, k):  # ranks the catalogue by id, minus the given history
        asked.extend(prefixes)
        return [[i for i in map(str, range(1, 10)) if i not in p][:k] for p in prefixes]

    cfg = SampleConfig(samples_per_user=5, topk=3, multi_round_ratio=0.0, seed=0)
    out = S.label_samples(drawn, teacher, [str(i) for i in range(1, 10)], 0, cfg)
    for prefix, outputs, target in zip(asked, out["outputs"], out["target"]):
        assert outputs[0] == target and not set(outputs[1:]) & set(prefix)
        assert len(outputs) == len(set(outputs)) <= 3
    assert (out["chat"] == -1).all() and set(out["template"]) <= {0, 1, 2, 3}


@pytest.mark.parametrize("tasks, templates", [("cs_mr", {0, 1, 2, 3}), ("mr", {2, 3}), ("generate", {0, 2})])
def test_task_groups_choose_the_templates_and_only_candidate_templates_list_candidates(tasks, templates):
    inter, _ = loo_frames({f"u{n}": [str(i) for i in range(1, 9)] for n in range(10)})
    cfg = SampleConfig(samples_per_user=8, topk=3, candidate_num=5, multi_round_ratio=0.0, tasks=tasks, seed=1)
    drawn = S.draw_train_samples(inter, cfg)

    def teacher(users, prefixes, k):
        return [[i for i in map(str, range(1, 9)) if i not in p][:k] for p in prefixes]

    out = S.label_samples(drawn, teacher, [str(i) for i in range(1, 9)], 0, cfg)
    assert set(out["template"]) == templates  # 80 draws: every template of the group occurs
    for template, cands, outputs in zip(out["template"], out["candidates"], out["outputs"]):
        if template in S.CANDIDATE_TEMPLATES:
            assert set(outputs) <= set(cands)
        else:
            assert len(cands) == 0
    with pytest.raises(ValueError, match="tasks"):
        SampleConfig(tasks="cs")


def test_answer_and_prompt_text():
    text = {"1": "Heat", "2": "Alien"}
    assert S.answer_text(["1", "2"], text) == f"1. {ITEM_START}Heat{ITEM_END}\n 2. {ITEM_START}Alien{ITEM_END}\n"
    assert S.history_text(["2", "1"], text) == "'Alien' → 'Heat'"
    row = {"template": -1, "history": ["1"], "item_count": 10, "candidates": [], "chat": -1, "chat_first": False,
           "outputs": ["2"]}
    messages = S.conversation(row, text, [], with_answer=False)
    assert messages[-1]["content"].startswith("You need to generate a recommendation list considering")
    assert "'Heat'. Could you recommend me a list 10 different items?" in messages[-1]["content"]
    chat_row = {**row, "chat": 0, "chat_first": True}
    roles = [m["role"] for m in S.conversation(chat_row, text, [("Q?", "A.")])]
    assert roles == ["system", "user", "assistant", "user", "assistant"]


# ------------------------------------------------------------------------------------ encoding
def test_encode_conversation_labels_assistant_turns_only(tokenizer):
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "Heat"},
                {"role": "assistant", "content": f"1. {ITEM_START}Heat{ITEM_END}\n"}]
    enc = encode_conversation(tokenizer, messages, 512)
    labelled = [t for t, l in zip(enc["input_ids"], enc["labels"]) if l != -100]
    assert tokenizer.decode(labelled) == f"1. {ITEM_START}Heat{ITEM_END}\n{tokenizer.eos_token}"
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    assert tokenizer.decode(enc["input_ids"]) == full


def test_retrieval_targets_mask_titles_and_keep_soi(tokenizer):
    soi, eoi = tokenizer.convert_tokens_to_ids([ITEM_START, ITEM_END])
    heat = tokenizer("Heat", add_special_tokens=False)["input_ids"]
    trie = ItemTrie.build([heat], ["7"])
    enc = {"input_ids": [1, 2, soi, *heat, eoi, 3], "labels": [-100, 2, soi, *heat, eoi, 3]}
    out = retrieval_targets(enc, trie, {"7": 0}, soi, eoi)
    assert out["labels"] == [-100, 2, soi] + [-100] * (len(heat) + 1) + [3]
    assert out["soi_pos"] == [2] and out["soi_items"] == [0]


def test_history_char_spans_find_each_item_inside_its_quotes():
    text = {"1": "Heat", "2": "Alien", "3": "Heat 2"}
    prompt = "interactions: " + S.history_text(["2", "3", "1"], text) + ". Please"
    spans = S.history_char_spans(prompt, ["2", "3", "1"], text)
    assert [prompt[a:b] for a, b in spans] == ["Alien", "Heat 2", "Heat"]
    assert S.history_char_spans("no history here", ["1"], text) == []
    assert S.history_char_spans(prompt, [], text) == []


def test_history_loss_labels_every_history_item_but_the_first(tokenizer):
    text = {"1": "Heat", "2": "Alien", "3": "The Matrix"}
    history = ["2", "3", "1"]
    messages = [{"role": "system", "content": "sys"},
                {"role": "user", "content": "seen " + S.history_text(history, text) + " next"},
                {"role": "assistant", "content": f"1. {ITEM_START}Aliens{ITEM_END}\n"}]
    enc = encode_conversation(tokenizer, messages, 512, lambda t: S.history_char_spans(t, history, text))
    plain = encode_conversation(tokenizer, messages, 512)
    assert enc["input_ids"] == plain["input_ids"] and enc["labels"] == plain["labels"]
    spans = enc["history_spans"]
    assert [tokenizer.decode(enc["input_ids"][a:b]).strip(" '") for a, b in spans] == ["Alien", "The Matrix", "Heat"]
    out = history_labels(enc)
    added = [n for n, (new, old) in enumerate(zip(out["labels"], plain["labels"])) if new != old]
    assert added == [n for a, b in spans[1:] for n in range(a, b)]  # the first item is never a target
    # max_length cuts the history: items past it leave the spans
    assert len(encode_conversation(tokenizer, messages, spans[1][1], lambda t: S.history_char_spans(t, history, text))
               ["history_spans"]) == 2
    # RecLM-ret: one retrieval position per history item but the first, at the item's first token
    soi, eoi = tokenizer.convert_tokens_to_ids([ITEM_START, ITEM_END])
    trie = ItemTrie.build([tokenizer("Aliens", add_special_tokens=False)["input_ids"]], ["9"])
    ret = retrieval_targets(enc, trie, {"1": 0, "2": 1, "3": 2, "9": 3}, soi, eoi, history=history)
    assert ret["soi_pos"][:2] == [spans[1][0], spans[2][0]] and ret["soi_items"] == [2, 0, 3]


def test_history_loss_dataset_adds_targets_to_train_rows(tokenizer):
    from recforge.methods.reclm.sft import encoded_dataset

    text = {"1": "Heat", "2": "Alien", "3": "The Matrix", "4": "Aliens"}
    rows = pd.DataFrame([{"history": ["2", "3", "1"], "outputs": ["4"], "item_count": 1, "template": 0,
                          "candidates": [], "chat": -1, "chat_first": False}])
    soi, eoi = tokenizer.convert_tokens_to_ids([ITEM_START, ITEM_END])
    trie = ItemTrie.build([tokenizer(t, add_special_tokens=False)["input_ids"] for t in text.values()], list(text))
    retrieval = (trie, {i: n for n, i in enumerate(text)}, soi, eoi)
    plain, history = (encoded_dataset(tokenizer, rows, text, [], True, 512, history_loss=h)[0] for h in (False, True))
    assert sum(l != -100 for l in history["labels"]) > sum(l != -100 for l in plain["labels"])
    ret_plain, ret_history = (encoded_dataset(tokenizer, rows, text, [], True, 512, retrieval, h)[0] for h in (False, True))
    assert ret_plain["soi_items"] == [3] and ret_history["soi_items"] == [2, 0, 3]
    assert ret_history["labels"] == ret_plain["labels"]  # history items are retrieval targets, not LM labels
    assert "history_spans" not in history


# ------------------------------------------------------------------------------------ loss
SOI, EOI = 8, 9
# Items [1, 2], [1, 3], [4]: at the first title position 1 or 4 may come, after [1] only 2 or 3.
TRIE = ItemTrie.build([[1, 2], [1, 3], [4]], ["a", "b", "c"])


def test_item_spans_and_scope_positions():
    labels = torch.tensor([[-100, SOI, 1, 2, EOI, 5, SOI, 4, EOI]])
    assert item_spans(labels[0].tolist(), SOI, EOI) == [(1, 4), (6, 8)]
    where, allowed = scope_positions(labels, TRIE, SOI, EOI, 3)
    assert where == [(0, 2), (0, 3), (0, 7)]
    assert allowed == [[1, 4], [2, 3], [1, 4]]
    # Type 1 keeps positions with at least 2 allowed tokens (all three here); a one-way trie drops them.
    one_way = ItemTrie.build([[1, 2]], ["a"])
    assert scope_positions(labels[:, :5], one_way, SOI, EOI, 1)[0] == []
    assert scope_positions(labels[:, :5], one_way, SOI, EOI, 3)[0] == [(0, 2), (0, 3)]


def one_position(logits_row, label):
    """A batch with a single label at position 1 (predicted by the logits at position 0)."""
    logits = torch.zeros(1, 2, 10)
    logits[0, 0] = torch.tensor(logits_row)
    return logits, torch.tensor([[-100, label]])


def test_cross_entropy_and_focal_loss_values():
    row = [0.0, math.log(3.0), 0.0, 0.0, math.log(3.0), 0.0, 0.0, 0.0, 0.0, 0.0]  # exp: 1,3,1,1,3,1,...
    logits, labels = one_position(row, 1)
    p = 3.0 / (3 + 3 + 8)  # softmax over all 10
    assert reclm_loss(logits, labels, loss_type=3, scope_mask=False).item() == pytest.approx(-math.log(p))
    assert reclm_loss(logits, labels, loss_type=2, gamma=2.0, scope_mask=False).item() == pytest.approx(
        -((1 - p) ** 2) * math.log(p))
    # Scope mask: only tokens 1 and 4 are allowed, so p = 3 / (3 + 3) = 0.5.
    where, allowed = [(0, 1)], [[1, 4]]
    assert reclm_loss(logits, labels, loss_type=3, where=where, allowed=allowed).item() == pytest.approx(math.log(2))
    assert reclm_loss(logits, labels, loss_type=2, gamma=2.0, where=where, allowed=allowed).item() == pytest.approx(
        0.25 * math.log(2))
    # loss_type 1: focal only at scope positions; out of scope it is plain CE.
    assert reclm_loss(logits, labels, loss_type=1, gamma=2.0, scope_mask=False).item() == pytest.approx(-math.log(p))
    assert reclm_loss(logits, labels, loss_type=1, gamma=1.0, where=where, allowed=allowed,
                      scope_mask=False).item() == pytest.approx(-(1 - p) * math.log(p))


def test_loss_is_a_token_mean_over_labels():
    logits = torch.zeros(1, 3, 4)  # uniform: log 4 per label
    labels = torch.tensor([[-100, 1, 2]])
    assert reclm_loss(logits, labels).item() == pytest.approx(math.log(4))
    assert reclm_loss(logits, torch.tensor([[-100, -100, 2]])).item() == pytest.approx(math.log(4))


# ------------------------------------------------------------------------------------ diagnostics
def test_diagnostics_are_rates():
    lists = [["a", "b", "a", None], ["c"]]
    got = diagnostics(lists, [["b"], []], ["c", "c"], {"a", "b", "c"}, {"c": "X"}, {"X": {"a", "c"}}, k=4)
    assert got["non_exist_rate"] == pytest.approx(1 / 5)
    assert got["repeat_rate"] == pytest.approx(1 / 5)
    assert got["in_history_rate"] == pytest.approx(1 / 5)
    assert got["target_category_rate"] == pytest.approx(3 / 5)  # a, a, c
    assert got["correct_count_rate"] == pytest.approx(1 / 2)


# ------------------------------------------------------------------------------------ teacher
def test_min_items_and_item_beams_must_fit_the_list():
    from recforge.methods.reclm.config import PredictConfig

    assert PredictConfig(min_items=10).min_items == 10
    with pytest.raises(ValueError, match="min_items"):
        PredictConfig(k=10, min_items=11)
    # One item per beam: fewer beams than the list length cannot fill it.
    assert PredictConfig(k=10, item_beams=10).item_beams == 10
    with pytest.raises(ValueError, match="item_beams"):
        PredictConfig(k=10, item_beams=5)


def test_port_must_be_an_integer():
    assert check_port(2068) == 2068
    for bad in (2068.0, "2068", True):
        with pytest.raises(TypeError):
            check_port(bad)
    with pytest.raises(ValueError):
        check_port(70000)
    with pytest.raises(TypeError):
        TeacherConfig(port=2068.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def teacher_model(tmp_path_factory):
    seqs = {f"u{u}": [str((u * 3 + j) % 12) for j in range(6)] for u in range(12)}
    inter, samples = loo_frames(seqs)
    model = sasrec.train(inter, samples, sasrec.SASRecConfig(hidden_size=8, num_layers=1, num_heads=1, max_len=5,
                                                            max_epochs=1, eval_every=1, refit_for_test=False))
    path = tmp_path_factory.mktemp("teacher") / "model"
    sasrec.save(model, path)
    return path, inter, samples


def test_teacher_service_start_health_inference_stop(teacher_model):
    path, _, _ = teacher_model
    port = free_port()
    service = TeacherService(path, port, start_timeout_s=60)
    with service as client:
        assert client.health()["service"] == "recforge-sasrec-teacher"
        assert client.url == f"http://127.0.0.1:{port}"
        lists = client.top_k(["u0", "u1"], [["0", "1"], ["5"]], 4)
        assert len(lists) == 2 and all(len(x) == 4 for x in lists)
        assert not {"0", "1"} & set(lists[0]) and "5" not in lists[1]
        assert lists[0] == sasrec.recommend(sasrec.load(path), [["0", "1"]], 4)[0]
        listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
        assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening
    assert service.process.poll() is not None
    with pytest.raises(TeacherUnavailable, match="is down"):
        TeacherClient(port, timeout_s=2).health()


def test_killed_teacher_gives_a_clear_error_and_no_artifact(teacher_model, tmp_path, monkeypatch):
    """The service dies after it started (killed by PID): labelling fails naming the service, and the
    sample table is never written."""
    path, inter, samples = teacher_model
    port = free_port()
    out = tmp_path / "samples.parquet"
    started: list[TeacherService] = []

    class Recorded(TeacherService):
        def __enter__(self):
            started.append(self)
            return super().__enter__()

    original = labels.label_samples

    def kill_then_label(train, teacher, *args, **kwargs):
        assert teacher.__self__.health()["status"] == "ok"
        started[0].process.kill()
        started[0].process.wait()
        return original(train, teacher, *args, **kwargs)

    monkeypatch.setattr(labels, "TeacherService", Recorded)
    monkeypatch.setattr(labels, "label_samples", kill_then_label)
    cfg = SampleConfig(samples_per_user=1, topk=3)
    with pytest.raises(TeacherUnavailable, match=f"127.0.0.1:{port} is down"):
        write_parquet(labels.build_samples(inter, samples, [str(i) for i in range(12)], 0, cfg,
                                           TeacherConfig(port=port, start_timeout_s=60, request_timeout_s=5), path), out)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_taken_port_is_reported(teacher_model):
    path, _, _ = teacher_model
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(TeacherUnavailable, match="exited|not healthy|answers"):
            with TeacherService(path, port, start_timeout_s=30):
                pass


# ------------------------------------------------------------------------------------ decoding
TITLES = {"1": "The Matrix", "2": "Heat", "3": "Heat 2", "4": "Alien", "5": "Aliens", "6": "a movie night"}


@pytest.fixture(scope="module")
def eager_model(tokenizer):
    """A random tiny Qwen3 whose <SOI> logit is raised by 8, so that it opens items all the time: the
    decoder alone must then keep every item real, new and outside the history."""
    from transformers import Qwen3ForCausalLM

    from recforge.models.tiny import TinyModelConfig, qwen3_config

    soi = tokenizer.convert_tokens_to_ids(ITEM_START)

    class Eager(Qwen3ForCausalLM):
        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            out.logits[..., soi] += 8.0
            return out

    shape = TinyModelConfig(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, num_kv_heads=1, head_dim=16)
    torch.manual_seed(0)
    model = Eager(qwen3_config(shape, len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)).eval()
    return model


def decoder_for(tokenizer, head=None):
    from recforge.methods.reclm.decode import Decoder
    from recforge.methods.reclm.vocab import build_trie

    return Decoder(tokenizer, build_trie(tokenizer, TITLES), TITLES, head)


def prompts(tokenizer, n):
    return [tokenizer.apply_chat_template([{"role": "user", "content": f"Recommend {i} movies."}], tokenize=False,
                                          add_generation_prompt=True) for i in range(n)]


def test_constrained_lists_are_real_new_and_outside_the_history(tokenizer, eager_model):
    decoder = decoder_for(tokenizer)
    history = [["2", "4"], [], ["1", "3", "5"]]
    lists = decoder.rank(eager_model, prompts(tokenizer, 3), history, k=10, max_new_tokens=60, batch_size=2)
    assert any(lists)
    for items, seen in zip(lists, history):
        assert set(items) <= set(TITLES) and not set(items) & set(seen)  # out-of-domain rate exactly 0
        assert len(items) == len(set(items))
    # Without the trie the same model never completes a real item (it opens <SOI> over and over).
    free = decoder.rank(eager_model, prompts(tokenizer, 3), history, k=10, max_new_tokens=60, constrained=False)
    got = diagnostics(free, history, ["1"] * 3, set(TITLES), {}, {}, k=10)
    assert got["entries"] == 0 or got["non_exist_rate"] > 0
    # Outside item spans the text is free: a general reply decodes with the processor on.
    text = decoder.generate_text(eager_model, prompts(tokenizer, 1), max_new_tokens=20, constrained=True)[0]
    for span in S_SPANS(text):
        assert span in TITLES.values()


def test_item_beams_rank_items_by_their_renormalised_first_slot_probability(tokenizer, eager_model):
    """predict.item_beams: with as many beams as items the list is the catalogue ordered by the
    probability of naming each item first, every step softmax-ed over the trie's allowed tokens
    (computed here by hand from the titles' token sequences), history items dropped."""
    from recforge.decode import title_sequences

    decoder = decoder_for(tokenizer)
    prompt = prompts(tokenizer, 1)[0]
    ids = list(TITLES)
    # Each item's tokens and the closing <EOI>; the allowed tokens after a prefix are the next tokens
    # of every sequence sharing it.
    sequences = [seq + [decoder.eoi] for seq in title_sequences(tokenizer, [TITLES[i] for i in ids])]
    opening = tokenizer(prompt + f"1. {ITEM_START}", add_special_tokens=False)["input_ids"]
    exact = {}
    with torch.inference_mode():
        for item, seq in zip(ids, sequences):
            logits = eager_model(torch.tensor([opening + seq])).logits[0, len(opening) - 1 : -1]
            total = 0.0
            for step, token in enumerate(seq):
                allowed = sorted({s[step] for s in sequences if s[:step] == seq[:step]})
                total += float(torch.log_softmax(logits[step, allowed], -1)[allowed.index(token)])
            exact[item] = total
    by_probability = sorted(ids, key=lambda i: -exact[i])
    assert abs(sum(math.exp(v) for v in exact.values()) - 1) < 1e-4  # one distribution over the items
    lists = decoder.rank(eager_model, [prompt, prompt], [[], [by_probability[0]]], k=3, item_beams=len(ids),
                         batch_size=2)
    assert lists[0] == by_probability[:3]
    assert lists[1] == by_probability[1:4]  # the history item is dropped, the next one moves up


def S_SPANS(text):
    from recforge.methods.reclm.decode import SPAN

    return [s for s in SPAN.findall(text)]


def test_retrieval_lists_exclude_history_and_repeats(tokenizer, eager_model):
    from recforge.methods.reclm.decode import RetrievalHead

    torch.manual_seed(1)
    head = RetrievalHead(32, 8, torch.randn(len(TITLES), 4))
    decoder = decoder_for(tokenizer, head)
    history = [["2"], ["1", "3", "4", "5"]]
    lists = decoder.rank(eager_model, prompts(tokenizer, 2), history, k=3, max_new_tokens=80)
    assert len(lists[0]) == 3 and lists[1] in (["2"], ["6"], ["2", "6"], ["6", "2"])
    for items, seen in zip(lists, history):
        assert set(items) <= set(TITLES) and not set(items) & set(seen) and len(items) == len(set(items))
    # The first pick is the head's best item outside the history (inner products, no temperature).
    decoder_rows = decoder.trie.item_ids
    assert lists[0][0] in decoder_rows



def test_min_items_holds_the_answer_to_its_count(tokenizer, eager_model):
    """A model that would end every answer at once (EOS raised above the raised <SOI>) lists nothing;
    with min_items 3 both the generating and the retrieving decoder list exactly 3 new items."""
    from recforge.methods.reclm.decode import RetrievalHead

    eos = tokenizer.eos_token_id

    class Lazy(type(eager_model)):
        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            out.logits[..., eos] += 10.0
            return out

    lazy = Lazy(eager_model.config).eval()
    lazy.load_state_dict(eager_model.state_dict())
    torch.manual_seed(1)
    for head in (None, RetrievalHead(32, 8, torch.randn(len(TITLES), 4))):
        decoder = decoder_for(tokenizer, head)
        history = [["2"], []]
        assert decoder.rank(lazy, prompts(tokenizer, 2), history, k=10, max_new_tokens=80) == [[], []]
        lists = decoder.rank(lazy, prompts(tokenizer, 2), history, k=10, max_new_tokens=80, min_items=3)
        assert [len(items) for items in lists] == [3, 3]
        for items, seen in zip(lists, history):
            assert set(items) <= set(TITLES) and not set(items) & set(seen) and len(set(items)) == 3


# ------------------------------------------------------------------------------------ GRPO
def test_title_ranking_reward_reads_items_from_token_ids(tokenizer):
    from recforge.methods.reclm.grpo import TitleRankingReward

    decoder = decoder_for(tokenizer)
    reward = TitleRankingReward(decoder, k=10)
    ids = tokenizer(S.answer_text(["2", "4", "2", "1"], TITLES), add_special_tokens=False)["input_ids"]
    assert reward.items(ids) == ["2", "4", "1"]  # in order, the repeat counted once
    # target "4" at rank 2: 1 + 1/log2(3); "1" at rank 3 (not 4: the repeat is dropped); a miss gets 0.
    got = reward([None] * 3, [""] * 3, [ids] * 3, ["4", "1", "6"])
    assert got == pytest.approx([1 + 1 / math.log2(3), 1.5, 0.0])
    # An unfinished span (no <EOI>) names no item.
    open_span = tokenizer(f"1. {ITEM_START}The Matrix", add_special_tokens=False)["input_ids"]
    assert reward.items(open_span) == []


def test_constrained_rollouts_sample_only_catalogue_items(tokenizer, eager_model):
    """GRPOTrainer samples rollouts with model.generate: after constrain_rollouts every sampled span is a
    real title, none twice; the raw model's samples are not; a decoder's own call is left as it is."""
    import copy

    from recforge.methods.reclm.grpo import constrain_rollouts

    decoder = decoder_for(tokenizer)
    model = copy.deepcopy(eager_model)
    enc = tokenizer(prompts(tokenizer, 4), return_tensors="pt", padding=True, padding_side="left",
                    add_special_tokens=False)
    sample = dict(do_sample=True, temperature=1.0, top_k=None, top_p=None, max_new_tokens=40,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=decoder.eos)

    def spans(model):
        torch.manual_seed(0)
        out = model.generate(**enc, **sample)[:, enc["input_ids"].shape[1]:]
        return [S_SPANS(tokenizer.decode(row, skip_special_tokens=False)) for row in out]

    raw = spans(model)  # it opens <SOI> over and over and never completes a real title
    assert not any(s in TITLES.values() for row in raw for s in row)
    constrain_rollouts(model, decoder)
    constrained = spans(model)
    assert sum(map(len, constrained)) >= 4
    for row in constrained:
        assert set(row) <= set(TITLES.values()) and len(row) == len(set(row))
    # Valid ranking (the decoder's trie processor, history exclusion) goes through unchanged.
    lists = decoder.rank(model, prompts(tokenizer, 2), [["2"], []], k=10, max_new_tokens=60)
    assert all(set(items) <= set(TITLES) for items in lists) and "2" not in lists[0]


@pytest.mark.parametrize("lora", [False, True])
def test_grpo_stage_trains_selects_and_saves(tokenizer, eager_model, tmp_path, lora):
    """Two GRPO steps through TRL: the start model is the first candidate, each evaluation is recorded,
    the report and a loadable model are written. With LoRA only the adapters' target projections
    change (merged into the saved model); without it the other weights train too."""
    import copy

    from safetensors.torch import load_file

    from recforge.models.presets import LoraDefaults

    from recforge.methods.reclm.config import GRPOSettings, RankEvalConfig
    from recforge.methods.reclm.grpo import train_grpo

    def row(n, split, history, target):
        return {"sample_id": f"u{n}:{split}", "user_id": f"u{n}", "split": split, "history": history,
                "target": target, "outputs": [target], "item_count": 3, "template": 0, "candidates": [],
                "chat": -1, "chat_first": False, "excluded": history}

    rows = [row(n, "train", ["1", "2"], "3") for n in range(4)] + [row(n, "valid", ["4"], "5") for n in range(2)]
    cfg = GRPOSettings(eval_steps=1, reward_k=10, args={"max_steps": 2, "num_generations": 2,
                                                         "per_device_train_batch_size": 4, "max_completion_length": 24,
                                                         "learning_rate": 1e-2, "beta": 0.0, "logging_steps": 1,
                                                         "seed": 0}, lora=lora)
    start = {k: v.clone() for k, v in eager_model.state_dict().items()}
    report = train_grpo(copy.deepcopy(eager_model), tokenizer, pd.DataFrame(rows), TITLES, [("q", "a")],
                        decoder_for(tokenizer), cfg, SampleConfig(topk=3), RankEvalConfig(valid_samples=2, max_new_tokens=40),
                        tmp_path / "model", work_dir=tmp_path / "work", lora=LoraDefaults(target_modules=("q_proj",)))
    steps = [r["step"] for r in report["selection"]["evaluations"]]
    assert steps[0] == 0 and steps[-1] == 2 and report["train_rows"] == 4
    assert any("reward" in entry for entry in report["log_history"])
    assert (tmp_path / "model" / "config.json").exists()
    total = sum(p.numel() for p in eager_model.parameters())
    assert report["lora"] is lora
    if lora:  # rank 8 on q_proj only: a few thousand weights
        assert 0 < report["trainable_parameters"] < 0.1 * total
    else:
        assert report["trainable_parameters"] == total
    saved = load_file(tmp_path / "model" / "model.safetensors")
    changed = {k for k, v in start.items() if k in saved and not torch.equal(v, saved[k])}
    best = report["selection"]["best"]["step"]
    assert (best == 0) == (not changed)  # the start model, when selected, is saved as it was
    if lora and changed:
        assert all(k.endswith("q_proj.weight") for k in changed)
