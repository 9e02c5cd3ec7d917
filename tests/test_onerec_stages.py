"""The training stages on a random tiny Qwen3: token warm-up trains only the new SID rows, SID rows
start from their items' text, and the whole chain (warm-up -> multi-task -> reasoning activation with
rejection sampling -> GRPO -> predictions) runs in seconds and hands over the best valid states."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from onerec_example import sid_of, save_tiny_model, sids_frame, tables
from recforge.methods.onerec import cot as C
from recforge.methods.onerec import grpo as G
from recforge.methods.onerec import predict as PR
from recforge.methods.onerec import stages as S
from recforge.methods.onerec.config import (CotConfig, GRPOSettings, MixtureConfig, PredictConfig, RankEvalConfig,
                                            RejectionConfig, TaskConfig, TrainConfig)
from recforge.train.collate import PromptCompletionCollator
from recforge.train.select import select_best
from recforge.methods.onerec.tasks import build_tasks, mix
from recforge.methods.onerec.vocab import SidIndex, expand_vocabulary, init_sid_embeddings, item_text_vectors
from recforge.models.tokens import sid_token

torch.set_num_threads(1)
RANK = RankEvalConfig(valid_samples=8, k=5, num_beams=5, batch_size=8, max_think_tokens=12)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("onerec_chain")
    save_tiny_model(root / "base")
    items, interactions, samples = tables()
    sids = SidIndex.from_sids(sids_frame())
    tabs = build_tasks(items, interactions, samples, sid_of(), {}, {"u1": "Likes skin care."},
                       TaskConfig(sequential_train="all"))
    seq = tabs["sequential"]
    contexts = C.cot_contexts(seq[seq["split"] != "test"], interactions, samples, items, CotConfig(), "item", 20)
    cots = C.write_cots(contexts, {}, CotConfig())
    reasoning = C.reasoning_rows(seq, dict(zip(cots["key"], cots["cot"])), sid_of())
    reports = {
        "stage1": S.warmup(root / "base", sids, items, tabs["alignment"],
                           TrainConfig(select="loss", args={"num_train_epochs": 2, "learning_rate": 1e-2, "per_device_train_batch_size": 4}), root / "stage1"),
        "stage2": S.multitask(root / "stage1", sids, mix(tabs, MixtureConfig()), seq,
                              TrainConfig(select="hr", history_loss=True,
                                          args={"num_train_epochs": 2, "learning_rate": 1e-3, "per_device_train_batch_size": 4}), RANK, root / "stage2"),
        "stage3": S.activation(root / "stage2", sids, reasoning, sid_of(),
                               TrainConfig(select="hr", args={"num_train_epochs": 1, "learning_rate": 1e-3, "per_device_train_batch_size": 4}), RANK,
                               RejectionConfig(rounds=2, n_thinks=2, max_think_tokens=12, beam_width=5), root / "stage3"),
        "grpo": G.enhance(root / "stage3", sids, reasoning,
                          GRPOSettings(enabled=True, eval_steps=1, reward_k=5, num_beams=5,
                                       args={"max_steps": 2, "num_generations": 2, "per_device_train_batch_size": 2,
                                             "max_completion_length": 12}),
                          RANK, root / "grpo"),
    }
    return root, reports, seq, sids


def _expanded_base(root, sids):
    model, tokenizer = S.load_model(root / "base")
    old_rows = model.get_input_embeddings().weight.shape[0]
    expand_vocabulary(model, tokenizer, sids, tables()[0])
    return model, tokenizer, old_rows


def test_warmup_changes_only_the_new_sid_rows(chain):
    root, reports, _, sids = chain
    ref, tokenizer, old_rows = _expanded_base(root, sids)
    trained, trained_tok = S.load_model(root / "stage1")
    assert trained_tok.get_vocab() == tokenizer.get_vocab()
    ref_params, new_params = dict(ref.named_parameters()), dict(trained.named_parameters())
    assert ref_params.keys() == new_params.keys()
    emb = "model.embed_tokens.weight"
    for name, param in ref_params.items():
        if name != emb:
            assert torch.equal(param, new_params[name]), name  # backbone frozen
    before, after = ref_params[emb], new_params[emb]
    assert torch.equal(before[:old_rows], after[:old_rows])  # every pre-existing token untouched
    sid_ids = tokenizer.convert_tokens_to_ids(sids.all_tokens())
    others = [i for i in range(old_rows, before.shape[0]) if i not in set(sid_ids)]
    assert torch.equal(before[others], after[others])  # padding rows untouched
    changed = [i for i in sid_ids if not torch.equal(before[i], after[i])]
    assert len(changed) >= 6  # the SID rows the alignment text uses were trained
    assert trained.get_output_embeddings().weight.data_ptr() == trained.get_input_embeddings().weight.data_ptr()
    assert reports["stage1"]["trainable"].startswith("TrainableTokens(")


def test_sid_rows_start_at_their_items_text_centroid(chain):
    root, _, _, sids = chain
    model, tokenizer = S.load_model(root / "base")
    items = tables()[0]
    expand_vocabulary(model, tokenizer, sids, items)
    text = dict(zip(items["item_id"], items["text"]))
    vectors = item_text_vectors(model, tokenizer, [text[i] for i in sids.item_ids])
    table = model.get_input_embeddings().weight
    for level, code in ((0, 0), (1, 2), (2, 3)):
        members = [n for n in range(len(sids.item_ids)) if sids.codes[n, level] == code]
        token = tokenizer.convert_tokens_to_ids(sid_token(level, code))
        assert torch.allclose(table[token], vectors[members].mean(0), atol=1e-6)
    assert init_sid_embeddings(model, tokenizer, sids, items) == 4 + 3 + 4  # used codes per level


def test_each_stage_saves_safetensors_and_its_best_valid_state(chain):
    root, reports, _, _ = chain
    for stage in ("stage1", "stage2", "stage3", "grpo"):
        folder = root / stage
        assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))
        assert load_file(folder / "model.safetensors")
        report = json.loads((folder / S.REPORT).read_text())
        selection = report["selection"]
        assert selection["evaluations"], stage
        best = select_best(selection["evaluations"], selection["key"], selection["mode"])
        assert selection["best_index"] == best
    assert reports["stage1"]["selection"]["key"] == "eval_loss"
    assert reports["stage2"]["selection"]["key"] == "HR@5" and len(reports["stage2"]["selection"]["evaluations"]) == 2
    rounds = reports["stage3"]["rounds"]
    assert [r["round"] for r in rounds] == [1, 2] and rounds[0]["rejection"]["rows"] == 7
    assert {e["round"] for e in reports["stage3"]["selection"]["evaluations"]} == {1, 2}
    grpo = reports["grpo"]
    assert grpo["selection"]["evaluations"][0]["step"] == 0  # the starting model is a candidate
    assert any("rewards/rollout_beam/mean" in e for e in grpo["log_history"])


def test_predictions_of_both_methods(chain):
    root, _, seq, sids = chain
    items = set(tables()[0]["item_id"])
    expected = seq[seq["split"].isin(["valid", "test"])]
    for stage, cot in (("stage2", False), ("grpo", True)):
        model, tokenizer = S.load_model(root / stage)
        # As many beams as items: every item not in the history is ranked, so k of them are left.
        frame = PR.predict(model, tokenizer, seq, PR.SidDecoder.build(tokenizer, sids),
                           PredictConfig(k=5, num_beams=len(items), max_think_tokens=12, splits=("valid", "test")), cot=cot)
        assert frame["sample_id"].tolist() == expected["key"].tolist()
        assert frame["split"].tolist() == expected["split"].tolist()
        for ranked, history in zip(frame["items"], expected["history"]):
            left = items - set(history)
            assert len(ranked) == min(5, len(left)) == len(set(ranked)) and set(ranked) <= left
        assert ("thinks" in frame.columns) == cot
    assert isinstance(frame, pd.DataFrame)


def test_multitask_with_lora_merges_the_adapter(chain, tmp_path):
    from recforge.models.presets import LoraDefaults

    root, _, seq, sids = chain
    items, interactions, samples = tables()
    tabs = build_tasks(items, interactions, samples, sid_of(), {}, {}, TaskConfig())
    report = S.multitask(root / "stage1", sids, mix(tabs, MixtureConfig()), seq,
                         TrainConfig(select="loss", lora=True, args={"num_train_epochs": 1, "learning_rate": 1e-2, "per_device_train_batch_size": 4}), RANK,
                         tmp_path / "lora", lora=LoraDefaults(r=2, alpha=4, target_modules=("q_proj", "v_proj")))
    assert report["lora"] and report["selection"]["key"] == "eval_loss"
    merged = load_file(tmp_path / "lora" / "model.safetensors")
    before = load_file(root / "stage1" / "model.safetensors")
    assert merged.keys() == before.keys()  # a plain model: no adapter weights left
    assert not torch.equal(merged["model.layers.0.self_attn.q_proj.weight"], before["model.layers.0.self_attn.q_proj.weight"])
    assert torch.equal(merged["model.layers.0.mlp.up_proj.weight"], before["model.layers.0.mlp.up_proj.weight"])
    # the SID rows train with the adapter (trainable_token_indices), no other embedding row does
    emb_after, emb_before = merged["model.embed_tokens.weight"], before["model.embed_tokens.weight"]
    _, tokenizer = S.load_model(root / "stage1")
    sid_ids = set(tokenizer.convert_tokens_to_ids(sids.all_tokens()))
    changed = {i for i in range(emb_before.shape[0]) if not torch.equal(emb_after[i], emb_before[i])}
    assert changed and changed <= sid_ids


def test_prompt_completion_labels_mask_the_prompt_and_the_padding():
    from onerec_example import tokenizer

    tok = tokenizer()
    prompt, completion = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "<think>\n\n</think>\nok"
    enc = S.tokenize_prompt_completion(tok, prompt, completion, max_length=512)
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert enc["labels"][:n_prompt] == [-100] * n_prompt
    assert enc["labels"][n_prompt:] == enc["input_ids"][n_prompt:]
    assert enc["input_ids"][-1] == tok.eos_token_id  # EOS is trained, as TRL appends it
    short = {"input_ids": [5, 6], "labels": [-100, 6]}
    batch = PromptCompletionCollator(tok.pad_token_id)([enc, short])
    assert batch["input_ids"][1, 2:].eq(tok.pad_token_id).all() and batch["labels"][1, 2:].eq(-100).all()
    assert batch["attention_mask"][1].tolist()[:3] == [1, 1, 0]


def test_history_loss_labels_every_history_sid_but_the_first_item(chain):
    root, _, seq, sids = chain
    _, tok = S.load_model(root / "stage1")
    sid_ids = S.sid_token_ids(tok, sids)
    row = seq[(seq["split"] == "train") & (seq["history"].map(len) >= 3)].iloc[0]
    prompt = S.P.render_prompt(tok, row["system"], row["user"])
    plain = S.tokenize_prompt_completion(tok, prompt, row["completion"], 512)
    enc = S.tokenize_prompt_completion(tok, prompt, row["completion"], 512, set(sid_ids))
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    labelled = [t for t, label in zip(enc["input_ids"][:n_prompt], enc["labels"][:n_prompt]) if label != -100]
    # every SID token of items 2..n of the history (5 tokens each: begin, 3 levels, end), nothing else
    assert labelled == [t for i in row["history"][1:] for t in tok(sid_of()[i], add_special_tokens=False)["input_ids"]]
    assert len(labelled) == 5 * (len(row["history"]) - 1)
    assert enc["labels"][n_prompt:] == plain["labels"][n_prompt:]  # the completion is labelled as before
    assert all(label == -100 for label in plain["labels"][:n_prompt])
