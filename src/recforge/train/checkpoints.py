"""Checkpoint/resume of a training stage, keyed by its settings: a killed run of the same stage with the
same spec resumes from its checkpoints; checkpoints of a different spec (a changed config) are removed,
never resumed."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def fingerprint(spec: Any) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def checkpoint_dir(out_dir: str | Path) -> Path:
    """Trainer checkpoints live beside the final model, not inside it: the model dir is the rule's
    output, which Snakemake deletes when a job fails, while the checkpoints must survive to resume."""
    out = Path(out_dir)
    return out.parent / f".{out.name}.checkpoints"


def resume_from(out_dir: str | Path, stamp_text: str) -> bool:
    """Prepare the checkpoint directory for a run with this fingerprint; True when a killed run of the
    same spec left checkpoints to resume from."""
    ckpt = checkpoint_dir(out_dir)
    stamp = ckpt / "spec.sha256"
    if ckpt.exists() and (not stamp.exists() or stamp.read_text() != stamp_text):
        shutil.rmtree(ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    stamp.write_text(stamp_text)
    resumable = has_checkpoints(out_dir)
    if resumable:
        log.info("resuming from the checkpoints in %s", ckpt)
    return resumable


def has_checkpoints(out_dir: str | Path) -> bool:
    return any(checkpoint_dir(out_dir).glob("checkpoint-*"))


def drop_checkpoints(out_dir: str | Path) -> None:
    """After the selected model is saved, the intermediate checkpoints are dead weight."""
    shutil.rmtree(checkpoint_dir(out_dir), ignore_errors=True)
