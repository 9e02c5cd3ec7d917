"""constrained_generate on a tiny Qwen3 model: only real items, k distinct ones, the same beams as
transformers' own prefix_allowed_tokens_fn, and title mode with free text between items."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from test_decode_processor import reference_allowed
from transformers import LogitsProcessorList, Qwen3ForCausalLM

from recforge.decode import (
    ItemTrie,
    TrieLogitsProcessor,
    constrained_generate,
    decoding_config,
    items_in,
    sid_sequences,
    title_sequences,
)
from recforge.decode.sid_search import sid_beam_search
from recforge.models.chat_template import chatml
from recforge.models.pretrain import PretrainConfig, pack, pretrain
from recforge.models.tiny import TinyModelConfig, qwen3_config
from recforge.models.tokenizer import train_bpe_tokenizer
from recforge.models.tokens import ITEM_END, ITEM_START, SID_BEGIN, SID_END, add_tokens, sid_tokens

torch.set_num_threads(1)

# "Alien" and "Heat" are token prefixes of other titles: the trie must let them close or go on.
TITLES = ["Alien", "Alien Nation", "Heat", "Heat Wave", "The Matrix", "The Thing", "Toy Story", "Jaws",
          "Brazil", "Fargo", "Up", "Psycho"]
LEVELS, CODES = 3, 8


def ask(text: str) -> str:
    return chatml([{"role": "user", "content": text}], add_generation_prompt=True)


def answer(titles: list[str]) -> str:
    return "Sure: " + " and ".join(f"{ITEM_START}{t}{ITEM_END}" for t in titles) + ". Enjoy!<|im_end|>"


@pytest.fixture(scope="module")
def lm():
    """A tokenizer with SID tokens and a tiny Qwen3 trained for 2 s on RecLM-style answers, so that
    it writes free text, opens <SOI> items and closes them; its SID rows stay random."""
    rng = random.Random(0)
    docs = [ask("Recommend two movies.") + answer(rng.sample(TITLES, 2)) for _ in range(200)]
    tokenizer = train_bpe_tokenizer(docs + TITLES * 3, vocab_size=300)
    add_tokens(tokenizer, sid_tokens(LEVELS, CODES))
    shape = TinyModelConfig(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
                            head_dim=16)
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(qwen3_config(shape, len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id))
    blocks = pack(tokenizer(docs, add_special_tokens=False)["input_ids"], tokenizer.pad_token_id, 64)
    pretrain(model, blocks, PretrainConfig(steps=60, batch_size=16, seq_len=64, lr=1e-2, warmup_steps=5))
    return model.eval(), tokenizer


@pytest.fixture(scope="module")
def sid_catalogue(lm):
    _, tokenizer = lm
    rng = random.Random(1)
    codes = [[rng.randrange(CODES) for _ in range(LEVELS)] for _ in range(40)]
    codes.append(list(codes[0]))  # a SID collision: two items, one sequence
    items = [f"item{i}" for i in range(len(codes))]
    return ItemTrie.build(sid_sequences(tokenizer, codes), items), dict(zip(items, map(tuple, codes)))


SID_PROMPTS = [ask("History: <|sid_begin|><s_a_1><s_b_2><s_c_3><|sid_end|>. Next?") + SID_BEGIN,
               ask("Next?") + SID_BEGIN,
               ask("A much longer request, so that the batch is left-padded. Next?") + SID_BEGIN]


def generate_raw(model, tokenizer, prompts, num_beams, max_new_tokens, **how):
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    config = decoding_config(num_beams=num_beams, num_return_sequences=num_beams, max_new_tokens=max_new_tokens,
                             length_penalty=0.0, early_stopping=True, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
    with torch.inference_mode():
        out = model.generate(**encoded, generation_config=config, **how)
    return out, encoded["input_ids"].shape[1]


def test_sid_mode_returns_k_distinct_real_items(lm, sid_catalogue):
    model, tokenizer = lm
    trie, codes = sid_catalogue
    ranked = constrained_generate(model, tokenizer, SID_PROMPTS, trie, k=5, num_beams=6, batch_size=2, mode="sid")
    assert len(ranked) == len(SID_PROMPTS)
    for items in ranked:
        assert len(items) == 5 and len(set(items)) == 5
        assert set(items) <= set(codes)


def test_sid_mode_every_beam_is_a_real_item(lm, sid_catalogue):
    """Out-of-catalogue rate exactly 0: every returned beam is <SID tokens of an item><|sid_end|>."""
    model, tokenizer = lm
    trie, _ = sid_catalogue
    end = tokenizer.convert_tokens_to_ids(SID_END)
    encoded = tokenizer(SID_PROMPTS, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    proc = TrieLogitsProcessor(trie, prompt_length=encoded["input_ids"].shape[1], end_token_id=end, mode="sid",
                               eos_token_id=tokenizer.eos_token_id)
    out, prompt_length = generate_raw(model, tokenizer, SID_PROMPTS, 8, trie.max_length + 1,
                                      logits_processor=LogitsProcessorList([proc]))
    generated = out.sequences[:, prompt_length:].tolist()
    assert len(generated) == 8 * len(SID_PROMPTS)
    for row in generated:
        assert row[-1] == end and trie.lookup(row[:-1]), tokenizer.convert_ids_to_tokens(row)
    # Each prompt's 8 beams are 8 different items, best first.
    for p in range(len(SID_PROMPTS)):
        assert len({tuple(r) for r in generated[8 * p : 8 * p + 8]}) == 8
        scores = out.sequences_scores[8 * p : 8 * p + 8]
        assert torch.all(scores[:-1] >= scores[1:])


def test_sid_mode_unconstrained_would_not_be_valid(lm, sid_catalogue):
    """The constraint does work: the untrained SID rows make free beam search write no SID at all."""
    model, tokenizer = lm
    trie, _ = sid_catalogue
    out, prompt_length = generate_raw(model, tokenizer, SID_PROMPTS[:1], 4, trie.max_length + 1)
    rows = out.sequences[:, prompt_length:].tolist()
    assert not any(trie.lookup(r[: trie.max_length]) for r in rows)


def test_sid_mode_small_catalogue_returns_all_items(lm):
    model, tokenizer = lm
    trie = ItemTrie.build(sid_sequences(tokenizer, [[1, 2, 3], [1, 2, 4], [5, 0, 0]]), ["x", "y", "z"])
    ranked = constrained_generate(model, tokenizer, SID_PROMPTS[:2], trie, k=3, num_beams=5, mode="sid")
    assert [sorted(r) for r in ranked] == [["x", "y", "z"]] * 2


def test_sid_mode_collision_lists_both_items(lm, sid_catalogue):
    model, tokenizer = lm
    trie, codes = sid_catalogue
    ranked = constrained_generate(model, tokenizer, SID_PROMPTS[:1], trie, k=41, num_beams=41, mode="sid")[0]
    assert sorted(ranked) == sorted(codes)  # beam width = catalogue: every item, once
    assert abs(ranked.index("item0") - ranked.index("item40")) == 1  # one sequence, adjacent in the list


def test_sid_mode_equals_prefix_allowed_tokens_fn(lm, sid_catalogue):
    """Same trie rules through transformers' PrefixConstrainedLogitsProcessor (a Python call per beam)
    give the very same beams, in the same order, with the same scores."""
    model, tokenizer = lm
    trie, _ = sid_catalogue
    end, eos = tokenizer.convert_tokens_to_ids(SID_END), tokenizer.eos_token_id
    encoded = tokenizer(SID_PROMPTS, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    prompt_length = encoded["input_ids"].shape[1]
    proc = TrieLogitsProcessor(trie, prompt_length, end, "sid", eos_token_id=eos)
    ours, _ = generate_raw(model, tokenizer, SID_PROMPTS, 6, trie.max_length + 2,
                           logits_processor=LogitsProcessorList([proc]))

    def allowed(batch_id, sent):
        return sorted(reference_allowed(trie, sent[prompt_length:].tolist(), "sid", end, eos, vocab=len(tokenizer)))

    theirs, _ = generate_raw(model, tokenizer, SID_PROMPTS, 6, trie.max_length + 2, prefix_allowed_tokens_fn=allowed)
    assert torch.equal(ours.sequences, theirs.sequences)
    assert torch.equal(ours.sequences_scores, theirs.sequences_scores)


@pytest.mark.parametrize("num_beams", [6, 41, 50])
def test_shared_prefill_equals_transformers_beam_search(lm, sid_catalogue, num_beams):
    """Encoding each prompt once gives transformers' beams: same items, order and scores, also when
    the beams outnumber the catalogue's distinct SIDs (missing beams scored -inf, never ranked)."""
    model, tokenizer = lm
    trie, _ = sid_catalogue
    end, eos = tokenizer.convert_tokens_to_ids(SID_END), tokenizer.eos_token_id
    encoded = tokenizer(SID_PROMPTS, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    prompt_length = encoded["input_ids"].shape[1]
    theirs, _ = generate_raw(model, tokenizer, SID_PROMPTS, num_beams, trie.max_length + 1,
                             logits_processor=LogitsProcessorList([TrieLogitsProcessor(trie, prompt_length, end, "sid", eos_token_id=eos)]))
    generated, scores = sid_beam_search(model, encoded, trie, TrieLogitsProcessor(trie, prompt_length, end, "sid", eos_token_id=eos),
                                        num_beams)
    real = torch.isfinite(scores)
    assert real.sum(1).tolist() == [min(num_beams, trie.num_terminals)] * len(SID_PROMPTS)
    their_scores = theirs.sequences_scores.view(len(SID_PROMPTS), num_beams)
    their_tokens = theirs.sequences[:, prompt_length:].view(len(SID_PROMPTS), num_beams, -1)
    assert torch.equal(generated[real], their_tokens[real])
    torch.testing.assert_close(scores[real], their_scores[real], rtol=1e-5, atol=1e-5)
    ranked = {engine: constrained_generate(model, tokenizer, SID_PROMPTS, trie, k=min(num_beams, 41), num_beams=num_beams,
                                           batch_size=2, mode="sid", engine=engine)
              for engine in ("transformers", "shared_prefill")}
    assert ranked["transformers"] == ranked["shared_prefill"]


def exact_item_logprobs(model, prompt_ids, sequences, end):
    """Every item's log-probability computed directly: the sum over its tokens and the closing marker
    of the log-softmax over the tokens the trie allows after that prefix."""
    closed = [list(seq) + [end] for seq in sequences]
    exact = []
    with torch.inference_mode():
        for seq in closed:
            logits = model(torch.tensor([prompt_ids + seq])).logits[0, len(prompt_ids) - 1 : -1]
            total = 0.0
            for step, token in enumerate(seq):
                allowed = sorted({s[step] for s in closed if s[:step] == seq[:step]})
                total += float(torch.log_softmax(logits[step, allowed], -1)[allowed.index(token)])
            exact.append(total)
    return exact


@pytest.mark.parametrize("num_beams", [3, 12])
def test_shared_prefill_ranks_items_of_several_lengths(lm, num_beams):
    """Titles as SID-mode items ("Alien" is a prefix of "Alien Nation"): each finished item scored by
    its exact renormalised log-probability; as wide as the catalogue, the search returns every item in
    that order, as transformers' does; narrower, items best first, each with its exact score."""
    model, tokenizer = lm
    sequences = title_sequences(tokenizer, TITLES)
    trie = ItemTrie.build(sequences, TITLES)
    assert not trie.same_length()
    soi, eoi = tokenizer.convert_tokens_to_ids([ITEM_START, ITEM_END])
    prompt = ask("Recommend two movies.") + "Sure: " + ITEM_START
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    exact = dict(zip(TITLES, exact_item_logprobs(model, prompt_ids, sequences, eoi)))
    assert abs(sum(math.exp(v) for v in exact.values()) - 1) < 1e-4
    encoded = tokenizer([prompt], return_tensors="pt", add_special_tokens=False)
    processor = TrieLogitsProcessor(trie, encoded["input_ids"].shape[1], eoi, "sid", eos_token_id=tokenizer.eos_token_id)
    generated, scores = sid_beam_search(model, encoded, trie, processor, num_beams, renormalize=True)
    found = [items_in(row, trie, "sid", soi, eoi)[0] for row in generated[0].tolist()]
    assert len(set(found)) == num_beams and torch.all(scores[0, :-1] >= scores[0, 1:])
    torch.testing.assert_close(scores[0], torch.tensor([exact[t] for t in found]), rtol=1e-4, atol=1e-4)
    ranked = {engine: constrained_generate(model, tokenizer, [prompt], trie, k=num_beams, num_beams=num_beams, mode="sid",
                                           item_start=ITEM_START, item_end=ITEM_END, renormalize=True, engine=engine)[0]
              for engine in ("transformers", "shared_prefill")}
    assert ranked["shared_prefill"] == found
    if num_beams == len(TITLES):
        assert found == sorted(TITLES, key=lambda t: -exact[t]) == ranked["transformers"]
    with pytest.raises(ValueError, match="no length penalty"):
        constrained_generate(model, tokenizer, [prompt], trie, k=3, num_beams=3, mode="sid", item_start=ITEM_START,
                             item_end=ITEM_END, engine="shared_prefill", length_penalty=1.0)


def test_title_mode_free_text_and_real_items(lm):
    model, tokenizer = lm
    trie = ItemTrie.build(title_sequences(tokenizer, TITLES), TITLES)
    soi, eoi = tokenizer.convert_tokens_to_ids([ITEM_START, ITEM_END])
    prompts = [ask("Recommend two movies."), ask("Please recommend two movies I would like.")]
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    prompt_length = encoded["input_ids"].shape[1]
    proc = TrieLogitsProcessor(trie, prompt_length, eoi, "title", item_start_id=soi, item_end_id=eoi,
                               eos_token_id=tokenizer.eos_token_id)
    out, _ = generate_raw(model, tokenizer, prompts, 3, 40, logits_processor=LogitsProcessorList([proc]))
    answers = out.sequences[:, prompt_length:].tolist()
    for row in answers:
        text = tokenizer.decode(row, skip_special_tokens=True)
        # Every span is a real title (a span may be cut at max_new_tokens, never wrong).
        spans = [s.split(ITEM_END)[0] for s in text.split(ITEM_START)[1:]]
        closed = [s for s in text.split(ITEM_START)[1:] if ITEM_END in s]
        assert all(any(t.startswith(s) for t in TITLES) for s in spans), text
        assert [s.split(ITEM_END)[0] for s in closed] == items_in(row, trie, "title", soi, eoi), text
        assert len(set(items_in(row, trie, "title", soi, eoi))) == len(items_in(row, trie, "title", soi, eoi))
    # The first prompt's answer has free text before and between its items.
    best = tokenizer.decode(answers[0], skip_special_tokens=True)
    assert best.startswith("Sure: " + ITEM_START) and f"{ITEM_END} and {ITEM_START}" in best, best
    ranked = constrained_generate(model, tokenizer, prompts[:1], trie, k=4, num_beams=3, max_new_tokens=40,
                                  mode="title")[0]
    assert 2 <= len(ranked) <= 4 and len(set(ranked)) == len(ranked) and set(ranked) <= set(TITLES)


def test_title_mode_equals_prefix_allowed_tokens_fn(lm):
    model, tokenizer = lm
    trie = ItemTrie.build(title_sequences(tokenizer, TITLES), TITLES)
    soi, eoi, eos = *tokenizer.convert_tokens_to_ids([ITEM_START, ITEM_END]), tokenizer.eos_token_id
    prompts = [ask("Recommend two movies."), ask("Two more movies, please.")]
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    prompt_length = encoded["input_ids"].shape[1]
    proc = TrieLogitsProcessor(trie, prompt_length, eoi, "title", item_start_id=soi, eos_token_id=eos)
    ours, _ = generate_raw(model, tokenizer, prompts, 3, 36, logits_processor=LogitsProcessorList([proc]))

    def allowed(batch_id, sent):
        generated = sent[prompt_length:].tolist()
        return sorted(reference_allowed(trie, generated, "title", eoi, eos, soi, vocab=model.config.vocab_size))

    theirs, _ = generate_raw(model, tokenizer, prompts, 3, 36, prefix_allowed_tokens_fn=allowed)
    assert torch.equal(ours.sequences, theirs.sequences)
    assert torch.equal(ours.sequences_scores, theirs.sequences_scores)
    assert any(soi in row for row in ours.sequences[:, prompt_length:].tolist())  # items were written


def test_sid_sequences_from_arrays_and_lists(lm):
    _, tokenizer = lm
    ids = tokenizer.convert_tokens_to_ids
    want = [ids(["<s_a_1>", "<s_b_2>", "<s_c_3>"]), ids(["<s_a_7>", "<s_b_0>", "<s_c_0>"])]
    assert sid_sequences(tokenizer, np.array([[1, 2, 3], [7, 0, 0]])) == want
    assert sid_sequences(tokenizer, [[1, 2, 3], [7, 0, 0]]) == want
    assert sid_sequences(tokenizer, [[1, 2, 3], [7, 0]]) == [want[0], want[1][:2]]  # ragged
    with pytest.raises(ValueError, match="<s_b_9> is not in the tokenizer"):
        sid_sequences(tokenizer, np.array([[1, 9, 0]]))


def test_clear_errors(lm, sid_catalogue):
    model, tokenizer = lm
    trie, _ = sid_catalogue
    with pytest.raises(ValueError, match="num_beams=5 < k=10"):
        constrained_generate(model, tokenizer, SID_PROMPTS, trie, k=10, num_beams=5, mode="sid")
    with pytest.raises(ValueError, match="does not end with the item start token"):
        constrained_generate(model, tokenizer, [SID_PROMPTS[0], ask("no marker")], trie, k=2, num_beams=2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        constrained_generate(model, tokenizer, [ask("x")], trie, k=2, num_beams=2, mode="title")
    with pytest.raises(ValueError, match="mode"):
        constrained_generate(model, tokenizer, [ask("x")], trie, mode="text")


def test_renormalized_sid_beams_are_the_masked_distribution(lm):
    """renormalize: the scores of a beam as wide as the catalogue are log-probabilities of one
    distribution over its items (summing to 1), the same from both engines; the full-vocabulary
    log-probabilities of the allowed tokens (the default) sum to less."""
    model, tokenizer = lm
    trie = ItemTrie.build(sid_sequences(tokenizer, [[1, 2, 3], [1, 2, 4], [5, 0, 0]]), ["x", "y", "z"])
    end, eos = tokenizer.convert_tokens_to_ids(SID_END), tokenizer.eos_token_id
    encoded = tokenizer(SID_PROMPTS, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    prompt_length = encoded["input_ids"].shape[1]
    total = {}
    for renormalize in (True, False):
        processor = TrieLogitsProcessor(trie, prompt_length, end, "sid", eos_token_id=eos)
        _, scores = sid_beam_search(model, encoded, trie, processor, 3, renormalize)
        total[renormalize] = scores.exp().sum(1)
    torch.testing.assert_close(total[True], torch.ones(len(SID_PROMPTS)))
    assert bool((total[False] < 0.99).all())
    config = decoding_config(num_beams=3, num_return_sequences=3, max_new_tokens=trie.max_length + 1,
                             length_penalty=0.0, early_stopping=True, eos_token_id=eos,
                             pad_token_id=tokenizer.pad_token_id, renormalize=True)
    with torch.inference_mode():
        out = model.generate(**encoded, generation_config=config,
                             logits_processor=LogitsProcessorList([TrieLogitsProcessor(trie, prompt_length, end, "sid",
                                                                                       eos_token_id=eos)]))
    torch.testing.assert_close(out.sequences_scores.view(len(SID_PROMPTS), 3).exp().sum(1), total[True],
                               rtol=1e-5, atol=1e-5)
