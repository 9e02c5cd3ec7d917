"""The rollout-beam ranking reward: hit@k + NDCG@k of the target in the beam list."""

from __future__ import annotations

import math

import pytest

from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.reward import RolloutBeamReward
from recforge.train.rewards import ranking_reward


def test_hit_at_rank_one_three_and_miss():
    assert ranking_reward(["t", "a", "b"], "t", k=10) == 2.0  # 1 + 1/log2(2)
    assert ranking_reward(["a", "b", "t"], "t", k=10) == 1.5  # 1 + 1/log2(4)
    assert ranking_reward(["a", "b", "c"], "t", k=10) == 0.0
    assert ranking_reward(["a", "b", "t"], "t", k=2) == 0.0  # beyond k
    assert ranking_reward([], "t") == 0.0 and ranking_reward(["t"], "") == 0.0


def test_duplicates_are_removed_before_ranking():
    assert ranking_reward(["a", "a", "t"], "t") == pytest.approx(1 + 1 / math.log2(3))
    assert ranking_reward(["t", "t"], "t") == 2.0


def test_weights():
    assert ranking_reward(["a", "t"], "t", hit_weight=0.0, ndcg_weight=2.0) == pytest.approx(2 / math.log2(3))


class FakeDecoder:
    def __init__(self, lists):
        self.lists, self.prompts = lists, None

    def rank(self, model, tokenizer, prompts, k, num_beams, batch_size):
        self.prompts = list(prompts)
        return self.lists


class FakeModel:
    training = True

    def eval(self):
        self.training = False

    def train(self, mode=True):
        self.training = mode


def test_rollout_beam_reward_ranks_after_the_sampled_reasoning():
    decoder = FakeDecoder([["x", "t1"], ["t2"], ["y"]])
    reward = RolloutBeamReward(tokenizer=None, decoder=decoder, k=10)
    with pytest.raises(RuntimeError):
        reward(prompts=["p"], completions=["c"], target=["t"])
    reward.model = FakeModel()
    prompt = "<|im_start|>assistant\n" + P.think_prefix()
    completions = ["Oils recur.\n</think>\n<|sid_begin|><s_a_1>", "Makeup.", "<|sid_begin|>"]
    values = reward(prompts=[prompt] * 3, completions=completions, target=["t1", "t2", "t3"], trainer_state=None)
    assert values == pytest.approx([1 + 1 / math.log2(3), 2.0, 0.0])
    assert decoder.prompts[0] == "<|im_start|>assistant\n" + P.answer_prefix("Oils recur.")
    assert decoder.prompts[1].endswith("<think>\nMakeup.\n</think>\n<|sid_begin|>")
    assert decoder.prompts[2].endswith("<think>\n\n</think>\n<|sid_begin|>")
    assert reward.model.training  # restored
