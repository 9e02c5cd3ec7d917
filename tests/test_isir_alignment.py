"""Hidden-alignment losses against hand-computed values, the teacher-state store and the collator."""

import math

import pandas as pd
import pytest
import torch

from recforge.methods.isir.align import AlignCollator, AlignSettings, select_train, top_up
from recforge.methods.isir.alignment_loss import alignment_loss
from recforge.methods.isir.hidden import TeacherStates, resolve_layers
from recforge.io import write_json
from safetensors.torch import save_file


def test_cosine_loss_by_hand():
    s = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # 1 sample, 2 layers
    t = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    # layer 1: cos 1 -> 0; layer 2: cos 0 -> 1; mean over layers 0.5
    assert alignment_loss(s, t, "cosine").item() == pytest.approx(0.5)


def test_mse_and_mae_by_hand():
    s = torch.tensor([[[1.0, 2.0]], [[0.0, 0.0]]])  # 2 samples, 1 layer
    t = torch.tensor([[[1.0, 0.0]], [[3.0, 4.0]]])
    # sample 1: (0 + 4) / 2 = 2; sample 2: (9 + 16) / 2 = 12.5 -> mean 7.25
    assert alignment_loss(s, t, "mse").item() == pytest.approx(7.25)
    # sample 1: 2 / 2 = 1; sample 2: 7 / 2 = 3.5 -> 2.25
    assert alignment_loss(s, t, "mae").item() == pytest.approx(2.25)


def test_zscore_losses():
    t = torch.tensor([[[1.0, 3.0]]])  # mean 2, std (unbiased) sqrt(2)
    s = 10 * t + 5  # same shape, other scale
    assert alignment_loss(s, t, "mse_zscore").item() == pytest.approx(0.0, abs=1e-5)
    # teacher statistics for both: z_t = [-1, 1] / sqrt2, z_s = ([15, 35] - 2) / sqrt2
    z_t = torch.tensor([-1.0, 1.0]) / math.sqrt(2)
    z_s = (torch.tensor([15.0, 35.0]) - 2) / math.sqrt(2)
    expected = ((z_s - z_t) ** 2).mean().item()
    assert alignment_loss(s, t, "mse_zscore_t").item() == pytest.approx(expected, rel=1e-4)


def test_bad_loss_and_shapes():
    with pytest.raises(ValueError, match="unknown alignment loss"):
        alignment_loss(torch.zeros(1, 1, 2), torch.zeros(1, 1, 2), "kl")
    with pytest.raises(ValueError, match="student states"):
        alignment_loss(torch.zeros(1, 2, 2), torch.zeros(1, 1, 2), "mse")


def test_layers():
    assert resolve_layers(None, 3) == [1, 2, 3] and resolve_layers([2], 3) == [2]
    with pytest.raises(ValueError, match="out of range"):
        resolve_layers([0], 3)


@pytest.fixture
def store(tmp_path):
    save_file({"u1:3": torch.ones(2, 4, dtype=torch.float16)}, str(tmp_path / "hidden-00000.safetensors"))
    save_file({"u2:5": torch.full((2, 4), 2.0, dtype=torch.float16)}, str(tmp_path / "hidden-00001.safetensors"))
    write_json(
        {"layers": [1, 2], "hidden_size": 4, "dtype": "float16",
         "samples": {"u1:3": "hidden-00000.safetensors", "u2:5": "hidden-00001.safetensors"}},
        tmp_path / "index.json",
    )
    return TeacherStates(tmp_path)


def test_teacher_states_are_read_by_sample_id(store):
    assert "u1:3" in store and "u9:1" not in store
    assert torch.equal(store["u2:5"], torch.full((2, 4), 2.0, dtype=torch.float16))


def test_collator_pads_and_attaches_states_by_sample_id(store):
    collate = AlignCollator(pad_id=0, teacher=store)
    f1 = {"input_ids": [5, 6, 7], "labels": [-100, -100, 7], "align_pos": 1, "sample_id": "u2:5"}
    f2 = {"input_ids": [5, 6], "labels": [-100, 6], "align_pos": 0, "sample_id": "u1:3"}
    batch = collate([f1, f2])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 6, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [[-100, -100, 7], [-100, 6, -100]]
    assert batch["teacher_states"][:, 0, 0].tolist() == [2.0, 1.0]  # in batch order, not file order
    valid = dict(f1, sample_id="v:1")
    assert "teacher_states" not in collate([valid])
    mixed = collate([f1, valid])  # a top-up row without a state: zeros, masked out of the alignment term
    assert mixed["teacher_mask"].tolist() == [True, False]
    assert mixed["teacher_states"][1].abs().sum() == 0 and mixed["teacher_states"][0, 0, 0] == 2.0


def test_student_trains_only_on_teacher_correct_samples(store):
    rows = pd.DataFrame({"sample_id": ["u2:5", "u1:3", "u3:4"], "label": [4.0, 5.0, 1.0]})
    kept, report = select_train(rows, store, AlignSettings(min_label_share=0.0))  # no top-up: mask only
    assert kept["sample_id"].tolist() == ["u1:3", "u2:5"]
    assert report["mask_labels"] == {"4": 1, "5": 1} and report["added_without_teacher"] == {}
    half, _ = select_train(rows, store, AlignSettings(training_ratio=0.5, seed=1, min_label_share=0.0))
    assert len(half) == 1


def test_top_up_gives_every_label_its_minimum_share():
    assert top_up({"5": 10, "1": 0, "3": 0}, 0.0) == {}
    add = top_up({"5": 10, "1": 0, "3": 0}, 0.2)  # 10 + 2x = T with x >= 0.2 T: x = 4 (T = 18, 0.2T = 3.6)
    assert add == {"1": 4, "3": 4}
    final = 10 + sum(add.values())
    assert all(n >= 0.2 * final for n in [10, *add.values()])
    assert top_up({"5": 5, "4": 5}, 0.3) == {}  # already above the share
    with pytest.raises(ValueError, match="impossible"):
        top_up({"1": 1, "2": 1, "3": 1}, 0.4)


def test_top_up_to_per_label_shares():
    # 6 fives kept; 5 must be 60%, so the final set has 10 rows: 3 + 1 more (30% and 10%), none beyond
    assert top_up({"5": 6, "4": 0, "1": 0}, {"5": 0.6, "4": 0.3, "1": 0.1}) == {"4": 3, "1": 1}
    with pytest.raises(ValueError, match="impossible"):
        top_up({"5": 1, "4": 0}, {"5": 0.7, "4": 0.5})


def test_a_degenerate_mask_is_reported_and_topped_up(store):
    # The teacher got only 5s right (u1:3); the other labels come from samples it got wrong.
    rows = pd.DataFrame({"sample_id": ["u1:3", "a:1", "b:1", "c:1", "d:1"], "label": [5.0, 1.0, 1.0, 3.0, 5.0]})
    kept, report = select_train(rows, store, AlignSettings(min_label_share=0.25))
    assert report["degenerate_mask"] and report["mask_labels"] == {"5": 1}
    assert report["added_without_teacher"] == {"1": 1, "3": 1}
    assert report["student_labels"] == {"1": 1, "3": 1, "5": 1}
    assert set(kept["sample_id"]) >= {"u1:3", "c:1"} and "d:1" not in set(kept["sample_id"])


def test_pool_top_up_restores_the_offered_label_distribution(store):
    # Offered: five 5s (one with a teacher state), four 1s, one 3 (50/40/10%). The mask holds a single 5;
    # "pool" tops every label up to its offered share: all ten rows (the 5s the teacher missed included).
    rows = pd.DataFrame({"sample_id": ["u1:3", *[f"f:{n}" for n in range(4)], *[f"o:{n}" for n in range(4)], "t:1"],
                         "label": [5.0] * 5 + [1.0] * 4 + [3.0]})
    kept, report = select_train(rows, store, AlignSettings(min_label_share="pool"))
    assert report["student_labels"] == {"1": 4, "3": 1, "5": 5}
    assert report["added_without_teacher"] == {"1": 4, "3": 1, "5": 4}
    with pytest.raises(ValueError, match="min_label_share"):
        select_train(rows, store, AlignSettings(min_label_share="natural"))


def test_all_trains_every_offered_row_and_aligns_only_the_mask(store):
    # The mask holds 4 (u2:5) and 5 (u1:3); "all" adds every row without a teacher state, whatever its
    # label; a teacher-correct row that training_ratio leaves out stays out, as with the top-ups.
    rows = pd.DataFrame({"sample_id": ["u1:3", "u2:5", "a:1", "b:1", "c:1"], "label": [5.0, 4.0, 5.0, 1.0, 5.0]})
    kept, report = select_train(rows, store, AlignSettings(min_label_share="all"))
    assert sorted(kept["sample_id"]) == sorted(rows["sample_id"])
    assert report["mask_labels"] == {"4": 1, "5": 1} and not report["degenerate_mask"]
    assert report["added_without_teacher"] == {"1": 1, "5": 2}
    part, part_report = select_train(rows, store, AlignSettings(min_label_share="all", training_ratio=0.5, seed=1))
    assert len(part) == 4 and {"a:1", "b:1", "c:1"} <= set(part["sample_id"])
    assert sum(part_report["mask_labels"].values()) == 1 and part_report["added_without_teacher"] == {"1": 1, "5": 2}
