"""reasoningrec's slot-weighted SFT loss (sft.slot_weight): the slot found in TRL's labels, the
per-example weighting by hand, and the trainer's loss against the model's own logits."""

from __future__ import annotations

import pytest
import torch

from recforge.methods.reasoningrec.slot_loss import slot_positions, slot_weighted_loss

YES, NO = 9, 11


def test_slot_is_the_first_labelled_answer_token_in_shifted_positions():
    labels = torch.tensor([
        [-100, -100, 5, 7, YES, 3, NO],  # answer at token 4 -> shifted position 3; the later NO is reasoning
        [-100, -100, -100, 5, 7, NO, 3],  # a No at token 5 -> shifted position 4
        [-100, -100, 5, 7, 3, 4, 2],  # no answer: a completion truncated away
    ])
    assert slot_positions(labels, torch.tensor([YES, NO])).tolist() == [3, 4, -1]


def test_loss_weighs_the_slot_against_the_mean_of_the_other_tokens():
    nll = torch.tensor([
        [0.0, 1.0, 2.0, 4.0, 9.0],
        [0.0, 3.0, 5.0, 0.0, 0.0],
        [6.0, 0.0, 0.0, 0.0, 0.0],
    ])
    mask = torch.tensor([
        [False, True, True, True, False],
        [False, True, True, False, False],
        [True, False, False, False, False],
    ])
    slots = torch.tensor([2, -1, 0])
    # row 0: 0.5 x 2 + 0.5 x mean(1, 4) = 2.25; row 1 (no slot): mean(3, 5) = 4; row 2 (only the slot): 6
    assert slot_weighted_loss(nll, mask, slots, 0.5).item() == pytest.approx((2.25 + 4.0 + 6.0) / 3)
    # weight 1: the slot alone (row 1 keeps its token mean); weight 0: the other tokens alone
    assert slot_weighted_loss(nll, mask, slots, 1.0).item() == pytest.approx((2.0 + 4.0 + 6.0) / 3)
    assert slot_weighted_loss(nll, mask, slots, 0.0).item() == pytest.approx((2.5 + 4.0 + 6.0) / 3)


def test_weight_one_sends_gradient_to_the_slot_only():
    nll = torch.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    mask = torch.tensor([[True, True, True, True]])
    slot_weighted_loss(nll, mask, torch.tensor([1]), 1.0).backward()
    assert nll.grad.tolist() == [[0.0, 1.0, 0.0, 0.0]]


def test_trainer_loss_is_the_models_own_slot_nll(tmp_path_factory, tmp_path):
    """The subclass's loss, with weight 1, equals -log softmax(logits)[answer] at the token before the
    answer, computed from the model's full logits; with weight 0.5 it moves by the other tokens."""
    from datasets import Dataset
    from llm_fixtures.helpers import shared_test_model
    from trl import SFTConfig

    from recforge.methods.reasoningrec.train import trainer_class
    from recforge.models.loading import load_causal_lm

    model, tokenizer = load_causal_lm(str(shared_test_model(tmp_path_factory)), dtype="float32",
                                      attn_implementation="sdpa", device="cpu")
    records = [{"prompt": [{"role": "user", "content": f"Will the user like item {i}?"}],
                "completion": [{"role": "assistant", "content": f"Prediction: {a}\nbecause the history says so"}]}
               for i, a in enumerate(["Yes", "No"])]
    args = SFTConfig(output_dir=str(tmp_path), per_device_train_batch_size=2, report_to=[], use_cpu=True, bf16=False)
    losses = {}
    for weight in (1.0, 0.5):
        trainer = trainer_class(tokenizer, weight)(model=model, args=args, train_dataset=Dataset.from_list(records),
                                                   processing_class=tokenizer)
        batch = next(iter(trainer.get_train_dataloader()))
        with torch.no_grad():
            losses[weight] = trainer.compute_loss(trainer.model, dict(batch)).item()
            logits = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    answers = torch.tensor([tokenizer(" Yes", add_special_tokens=False)["input_ids"][0],
                            tokenizer(" No", add_special_tokens=False)["input_ids"][0]])
    slots = slot_positions(batch["labels"], answers)
    assert (slots >= 0).all()
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    expected = -logp[torch.arange(2), slots, batch["labels"][torch.arange(2), slots + 1]].mean()
    assert losses[1.0] == pytest.approx(expected.item(), rel=1e-4)
    assert losses[0.5] != pytest.approx(losses[1.0], rel=1e-3)


def test_slot_weight_needs_answers_with_distinct_first_tokens():
    from recforge.methods.reasoningrec.train import SFTSettings, trainer_class

    class SharedFirstToken:
        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [1, 2] if "Yes" in text else [1, 3]}

    with pytest.raises(ValueError, match="first tokens differ"):
        trainer_class(SharedFirstToken(), 0.5)
    with pytest.raises(ValueError, match=r"slot_weight: 1.5 is not in \[0, 1\]"):
        SFTSettings(slot_weight=1.5)
