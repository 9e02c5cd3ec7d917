"""The structural-token rule: non-special added tokens that survive TRL's reward decoding, and the
embedding resize/initialisation."""

from __future__ import annotations

import pytest
import torch

from recforge.models.chat_template import chatml
from recforge.models.tokenizer import train_bpe_tokenizer
from recforge.models.tokens import (
    ANSWER_END,
    ANSWER_START,
    STRUCTURAL_TOKENS,
    THINK_END,
    THINK_START,
    add_tokens,
    sid_token,
    sid_tokens,
)
from recforge.text.items import item_card
from llm_fixtures.helpers import movies_items

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer((item_card(r) for r in movies_items().to_dict("records")), vocab_size=600)


def tiny_model(tokenizer, tie: bool):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        tie_word_embeddings=tie,
    )
    return Qwen3ForCausalLM(config)


def test_structural_tokens_are_single_non_special_ids(tokenizer):
    for token in STRUCTURAL_TOKENS:
        ids = tokenizer.encode(token, add_special_tokens=False)
        assert len(ids) == 1 and tokenizer.convert_ids_to_tokens(ids) == [token]
        assert token not in tokenizer.all_special_tokens


def test_tags_survive_trl_reward_decoding(tokenizer):
    # TRL's GRPOTrainer decodes completions with batch_decode(..., skip_special_tokens=True)
    # (trl/trainer/grpo_trainer.py) before calling reward functions.
    completion = f"{THINK_START}\nThe user likes dramas.\n{THINK_END}\n{ANSWER_START}4{ANSWER_END}<|im_end|>"
    ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    decoded = tokenizer.batch_decode([ids], skip_special_tokens=True)[0]
    assert decoded == completion.replace("<|im_end|>", "")  # chat control token gone, tags kept


def test_special_tokens_would_vanish_which_is_why_the_rule_exists(tokenizer):
    from tokenizers import AddedToken

    tok = train_bpe_tokenizer(["plain text only"] * 10, vocab_size=300)
    tok.add_tokens([AddedToken("<zz>", special=True)], special_tokens=True)
    ids = tok("<zz>4", add_special_tokens=False)["input_ids"]
    assert tok.batch_decode([ids], skip_special_tokens=True)[0] == "4"


def test_add_tokens_resizes_and_initialises_from_pieces(tokenizer):
    tok = train_bpe_tokenizer(
        (item_card(r) for r in movies_items().head(300).to_dict("records")), vocab_size=500
    )
    model = tiny_model(tok, tie=False)
    before_in = model.get_input_embeddings().weight.detach().clone()
    before_out = model.get_output_embeddings().weight.detach().clone()
    new = [sid_token(0, 7), sid_token(1, 250)]
    pieces = [tok.encode(t, add_special_tokens=False) for t in new]
    ids = add_tokens(tok, new, model=model, pad_to_multiple_of=64)
    assert ids == [len(tok) - 2, len(tok) - 1]
    emb_in, emb_out = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert emb_in.shape[0] % 64 == 0 and emb_in.shape[0] >= len(tok)
    # Old rows untouched; new rows = mean of the token string's former pieces, in both tables.
    assert torch.equal(emb_in[: before_in.shape[0]], before_in)
    assert torch.equal(emb_out[: before_out.shape[0]], before_out)
    for token_id, token_pieces in zip(ids, pieces):
        assert torch.allclose(emb_in[token_id], before_in[token_pieces].mean(0))
        assert torch.allclose(emb_out[token_id], before_out[token_pieces].mean(0))
    # The model still runs and the new tokens are single ids.
    assert tok.encode(new[0], add_special_tokens=False) == [ids[0]]
    model(input_ids=torch.tensor([ids]))


def test_add_tokens_is_idempotent_and_keeps_tied_weights(tokenizer):
    tok = train_bpe_tokenizer(["a b c d e"] * 20, vocab_size=300)
    model = tiny_model(tok, tie=True)
    first = add_tokens(tok, ["<|sid_begin|>", "<s_a_1>"], model=model)
    size = len(tok)
    assert add_tokens(tok, ["<|sid_begin|>", "<s_a_1>"], model=model) == []
    assert len(tok) == size
    assert model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr()
    assert len(first) == 2


def test_sid_token_names():
    assert sid_token(0, 249) == "<s_a_249>" and sid_token(3, 78) == "<s_d_78>"
    tokens = sid_tokens(4, 256)
    assert len(tokens) == 2 + 4 * 256 and len(set(tokens)) == len(tokens)
    with pytest.raises(ValueError):
        sid_token(-1, 0)


def test_chat_template_matches_python_rendering(tokenizer):
    messages = [
        {"role": "system", "content": "You rate movies."},
        {"role": "user", "content": "Rate <SOI>Heat<EOI>."},
        {"role": "assistant", "content": "<think>\nok\n</think>\n<answer>5</answer>"},
    ]
    assert tokenizer.apply_chat_template(messages, tokenize=False) == chatml(messages)
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt == chatml(messages[:2], add_generation_prompt=True)
    no_think = tokenizer.apply_chat_template(
        messages[:2], tokenize=False, add_generation_prompt=True, enable_thinking=False
    )
    assert no_think.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    mask = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )["assistant_masks"]
    assert 0 < sum(mask) < len(mask)  # only the assistant turn is marked
