"""The tiny model builds from the data alone, deterministically, and loads like any HF causal LM."""

from __future__ import annotations

import hashlib
import json

import pytest

from llm_fixtures.helpers import build_test_model, movies_interactions, movies_items, shared_test_model
from recforge.models.corpus import CorpusConfig, build_corpus, split_heldout
from recforge.models.tiny import OUTPUT_FILES

# Smaller than the shared test model: this module builds twice.
QUICK = {
    "vocab_size": 600,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "num_kv_heads": 1,
    "pretrain": {"steps": 30, "seq_len": 64},
}


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("tiny_a"), tmp_path_factory.mktemp("tiny_b")
    return (a, build_test_model(a, **QUICK)), (b, build_test_model(b, **QUICK))


def test_same_seed_same_tokenizer_weights_and_perplexity(two_builds):
    (a, report_a), (b, report_b) = two_builds
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert sha(a / name) == sha(b / name), name
    assert report_a["heldout_perplexity"] == report_b["heldout_perplexity"]
    assert report_a["loss_curve"] == report_b["loss_curve"]


def test_other_seed_other_weights(two_builds, tmp_path):
    (a, _), _ = two_builds
    build_test_model(tmp_path, **{**QUICK, "seed": 1})
    assert sha(a / "model.safetensors") != sha(tmp_path / "model.safetensors")


def test_build_report_and_files(two_builds):
    (a, report), _ = two_builds
    for name in OUTPUT_FILES + ("generation_config.json", "tokenizer_config.json"):
        assert (a / name).is_file(), name
    assert json.loads((a / "build_report.json").read_text())["parameters"] == report["parameters"]
    assert report["architecture"] == "Qwen3ForCausalLM"
    assert report["heldout_perplexity"] < 0.7 * report["heldout_perplexity_init"]  # it learned something
    assert report["vocab_size"] % 64 == 0 and report["vocab_size"] >= report["tokenizer_size"]
    assert set(report["corpus"]["kinds"]) == {
        "item",
        "item_summary",
        "next_items",
        "rating_cot",
        "rationale",
        "user_summary",
    }
    assert report["build_time_s"] > 0 and report["sha256"]["model.safetensors"] == sha(
        a / "model.safetensors"
    )
    assert not list(a.glob("*.bin")) and not list(a.glob("*.pt"))  # safetensors only


def test_corpus_uses_train_events_only():
    items, interactions = movies_items(), movies_interactions()
    # Give every valid/test event a title no train event has: it must not reach the corpus.
    held = interactions[interactions["split"] != "train"]
    marked = items.copy()
    secret = set(held["item_id"]) - set(interactions.loc[interactions["split"] == "train", "item_id"])
    marked.loc[marked["item_id"].isin(secret), "title"] = "ZZSECRET"
    docs = build_corpus(marked, interactions, CorpusConfig(max_users=1000, max_item_prompts=0))
    prompts = [d.text for d in docs if d.kind != "item"]
    assert prompts and not any("ZZSECRET" in text for text in prompts)
    train, heldout = split_heldout(docs, CorpusConfig(heldout_fraction=0.1))
    assert heldout and len(train) + len(heldout) == len(docs)
    assert not {d.doc_id for d in train} & {d.doc_id for d in heldout}


def test_built_model_loads_and_chats(tmp_path_factory):
    import torch

    from recforge.models.loading import load_causal_lm

    path = shared_test_model(tmp_path_factory)
    model, tokenizer = load_causal_lm(str(path))
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Summarise the following movie in at most 60 words."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]
    assert model.config.model_type == "qwen3"
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.padding_side == "left"
