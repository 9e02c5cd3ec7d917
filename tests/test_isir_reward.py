"""Seed 000's GRPO reward against hand-computed values (verl regression.compute_score)."""

import math

import pytest

from recforge.methods.isir.reward import format_ok, grpo_reward, parse_rating, rating_reward

GOOD = "<think>\nlikes thrillers\n</think>\n<answer>4</answer>"


@pytest.mark.parametrize(
    "text, label, expected",
    [
        (GOOD, "4", (3.0, 1.0, 2.0)),  # right format, exact
        (GOOD, "1", (0.0, 1.0, -1.0)),  # 2 - |4 - 1|
        ("<think>x</think><answer>7</answer>", "5", (3.0, 1.0, 2.0)),  # clipped to 5
        ("<think>x</think><answer>0.5</answer>", "2", (2.0, 1.0, 1.0)),  # clipped to 1
        ("<answer>3.5</answer>", "4", (0.5, -1.0, 1.5)),  # no think block
        ("<think>x</think><answer>great</answer>", "4", (-1.0, 1.0, -2.0)),  # unparseable
        ("<think>x</think>", "4", (-3.0, -1.0, -2.0)),  # no answer
        ("<answer>4</answer><think>x</think>", "4", (1.0, -1.0, 2.0)),  # out of order
        ("<think>a</think><think>b</think><answer>4</answer>", "4", (1.0, -1.0, 2.0)),  # twice
        ("<think>a</think><answer>2</answer><answer>5</answer>", "5", (1.0, -1.0, 2.0)),  # last answer
        ("<think>a</think><answer>nan</answer>", "5", (-1.0, 1.0, -2.0)),  # NaN is unparseable
    ],
)
def test_rating_reward(text, label, expected):
    got = rating_reward(text, label)
    assert (got.score, got.format_score, got.content_score) == pytest.approx(expected)


def test_format_needs_each_tag_once_in_order():
    assert format_ok(GOOD)
    assert not format_ok(GOOD.replace("</think>", ""))
    assert not format_ok("</think><think><answer>1</answer>")


def test_parse_rating():
    assert parse_rating(" 4.0 ") == 4.0 and parse_rating("9") == 5.0 and parse_rating("-3") == 1.0
    assert math.isnan(parse_rating(None)) and math.isnan(parse_rating("4 stars")) and math.isnan(parse_rating("inf"))


def test_trl_reward_reads_conversational_completions_and_ground_truth_column():
    completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": "5"}]]
    assert grpo_reward(completions, ground_truth=["4", "5"], prompts=None) == [3.0, -3.0]
    assert grpo_reward([GOOD], ground_truth=["2"]) == [1.0]


def test_the_reward_follows_a_half_star_scale():
    from recforge.data.scale import RatingScale

    half = RatingScale(0.5, 5.0, 0.5)
    assert parse_rating("0.5", half) == 0.5 and parse_rating("0", half) == 0.5 and parse_rating("0.5") == 1.0
    text = "<think>x</think><answer>0.5</answer>"
    # the error is a share of the range (4.5 stars here): the worst answer scores as no answer, -2
    assert rating_reward(text, "5", half).content_score == pytest.approx(-2.0)
    assert rating_reward(text, "0.5", half).score == pytest.approx(3.0)
    assert rating_reward("<think>x</think><answer>4.5</answer>", "3.5", RatingScale()).content_score == 1.0
    scales = [half.as_dict(), RatingScale().as_dict()]
    assert grpo_reward([text, text], ["0.5", "1"], rating_scale=scales) == pytest.approx([3.0, 3.0])
