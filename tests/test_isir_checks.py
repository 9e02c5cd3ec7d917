"""A generation stage that parses too little stops with the setting to raise; limits are checked
against the lengths of the completions a stage learns from before it trains."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recforge.methods.isir.checks import check_completion_lengths, check_parse_rate
from recforge.methods.isir.teacher import ANSWERS, TeacherSettings, teacher_report


def _traces(predictions, tokens):
    labels = np.full(len(predictions), 4.0)
    return pd.DataFrame(
        {"parsed": predictions, "prediction": predictions, "correct": np.asarray(predictions) == labels,
         "generated_tokens": tokens}
    )


def test_a_teacher_that_parses_nothing_stops_naming_max_new_tokens():
    settings = TeacherSettings(max_new_tokens=64, answer="greedy")
    cut_off = _traces([np.nan] * 4, [64] * 4)
    with pytest.raises(ValueError, match=r"only 0\.0% of 4 .*raise `methods\.isir\.teacher\.max_new_tokens`"):
        teacher_report(cut_off, settings)
    report = teacher_report(_traces([4.0, 3.0, np.nan, 4.0], [20, 30, 64, 25]), settings)
    assert report["parse_rate"] == 0.75 and report["correct_rate"] == 0.5
    assert report["at_max_new_tokens"] == 0.25 and report["n"] == 4
    assert report["answer"] == "greedy" and report["answer_distribution"] == {"3": 1, "4": 2}
    # the floor is a setting: 0 lets everything through
    assert teacher_report(cut_off, TeacherSettings(min_parse_rate=0.0))["parse_rate"] == 0.0


def test_an_unknown_teacher_answer_is_refused():
    with pytest.raises(ValueError, match=r"methods\.isir\.teacher\.answer: unknown 'mean'"):
        TeacherSettings(answer="mean")
    assert TeacherSettings(answer="expected").answer == "expected"
    # the config schema lists the same answers, so a readout added to the code is not refused by the schema
    schema = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "schema.yaml").read_text())
    teacher = schema["$defs"]["isir"]["properties"]["teacher"]["properties"]
    assert tuple(teacher["answer"]["enum"]) == ANSWERS


def test_parse_rate_floor_names_both_settings():
    with pytest.raises(ValueError, match=r"`p\.floor`.*`p\.limit`"):
        check_parse_rate([np.nan, 1.0, np.nan], 0.5, "stage", "p.limit", "p.floor")
    assert check_parse_rate([np.nan, 1.0, 2.0], 0.5, "stage", "p.limit", "p.floor") == pytest.approx(2 / 3)


def test_trace_lengths_are_checked_against_the_generation_limits(caplog):
    lengths = [100, 107, 110, 90, 150]
    with pytest.raises(ValueError, match=r"median.*`methods\.isir\.teacher\.max_new_tokens` is 64.*at least 150"):
        check_completion_lengths(lengths, {"methods.isir.teacher.max_new_tokens": 64}, "the SFT traces")
    with caplog.at_level(logging.WARNING):
        stats = check_completion_lengths(lengths, {"g.max_completion_length": 128, "unset": None}, "the SFT traces")
    assert stats == {"mean": pytest.approx(111.4), "median": 107.0, "max": 150.0}
    assert "20.0% are longer than `g.max_completion_length` = 128" in caplog.text
