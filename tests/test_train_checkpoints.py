"""A killed training stage resumes from its checkpoints, but only under the same spec."""

from recforge.train.checkpoints import checkpoint_dir, drop_checkpoints, resume_from


def test_resume_only_with_the_same_spec(tmp_path):
    out = tmp_path / "grpo" / "model"
    assert checkpoint_dir(out) == tmp_path / "grpo" / ".model.checkpoints"
    assert resume_from(out, "spec-a") is False  # first run: nothing to resume
    (checkpoint_dir(out) / "checkpoint-20").mkdir()
    assert resume_from(out, "spec-a") is True  # killed, rerun unchanged: resume
    assert resume_from(out, "spec-b") is False  # config changed: old checkpoints are gone
    assert not (checkpoint_dir(out) / "checkpoint-20").exists()
    drop_checkpoints(out)
    assert not checkpoint_dir(out).exists()
