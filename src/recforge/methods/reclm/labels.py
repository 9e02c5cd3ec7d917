"""The SFT sample table: train samples labelled by the SASRec teacher service, plus the valid rows.

The service runs only while the labels are asked for (teacher.TeacherService: started here, health
checked, stopped on exit, also on error). Nothing is written unless every label arrived: the caller
writes the returned table atomically, so a killed service leaves an error naming it and no file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recforge.methods.reclm.config import SampleConfig, TeacherConfig
from recforge.methods.reclm.samples import draw_train_samples, eval_rows, label_samples
from recforge.methods.reclm.teacher import TeacherService


def build_samples(interactions: pd.DataFrame, splits: pd.DataFrame, catalogue: list[str], chat_size: int,
                  samples_cfg: SampleConfig, teacher_cfg: TeacherConfig, teacher_model: str | Path,
                  threads: int = 1) -> pd.DataFrame:
    """Train rows (teacher-labelled, from train events) and valid rows (label [target])."""
    train = draw_train_samples(interactions, samples_cfg)
    with TeacherService(teacher_model, teacher_cfg.port, teacher_cfg.start_timeout_s, teacher_cfg.request_timeout_s,
                        threads=threads) as client:
        labelled = label_samples(train, client.top_k, catalogue, chat_size, samples_cfg, teacher_cfg.batch_size)
    labelled["excluded"] = labelled["history"]
    valid = eval_rows(interactions, splits, ("valid",), samples_cfg)
    return pd.concat([labelled, valid], ignore_index=True)
