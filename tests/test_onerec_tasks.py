"""OneRec-Think task builders on the hand-built two-user example: each builder's rows, and that no
valid/test event reaches a training row."""

from __future__ import annotations

import pandas as pd
import pytest

from onerec_example import HELD_OUT, SEQUENCES, sid_of, tables
from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import MixtureConfig, TaskConfig, UserSummaryConfig
from recforge.methods.onerec.summaries import summarize_users, user_summary_contexts
from recforge.methods.onerec.tasks import ROW_COLUMNS, build_tasks, mix, sequential_rows
from recforge.models.tokens import SID_BEGIN

CFG = TaskConfig(max_history=20, domain="beauty product", prompt="official", sequential_train="all")  # the seed's
TITLES = {"i7": "Zinnia Nail Lacquer", "i8": "Quartz Body Scrub", "i9": "Jasmine Perfume Mist", "i10": "Walnut Foot Balm"}


@pytest.fixture(scope="module")
def built():
    items, interactions, samples = tables()
    summaries = {"u1": "The user likes skin care.", "u2": "The user likes hair care and makeup."}
    item_summaries = {i: f"Summary of {i}." for i in items["item_id"]}
    return build_tasks(items, interactions, samples, sid_of(), item_summaries, summaries, CFG)


def _train_text(frame: pd.DataFrame) -> list[str]:
    train = frame[frame["split"] == "train"]
    return [f"{s}\n{u}\n{c}" for s, u, c in zip(train["system"], train["user"], train["completion"])]


def test_every_table_has_the_row_columns(built):
    assert set(built) == {"alignment", "sequential", "caption", "general"}
    for frame in built.values():
        assert tuple(frame.columns) == ROW_COLUMNS and len(frame)


def test_no_valid_or_test_event_reaches_a_train_row(built):
    sids = sid_of()
    held = [sids[i] for i in HELD_OUT] + list(TITLES.values())
    for task in ("sequential", "alignment"):
        for text in _train_text(built[task]):
            assert not any(h in text for h in held), (task, text)


def test_sequential_rows_are_the_samples_with_their_past(built):
    items, interactions, samples = tables()
    seq = built["sequential"].set_index("key")
    sids = sid_of()
    assert set(seq.index) == set(samples["sample_id"])
    for sample in samples.itertuples(index=False):
        row = seq.loc[sample.sample_id]
        past = SEQUENCES[sample.user_id][: sample.position]  # events with position < the sample's
        assert row["history"] == past and row["split"] == sample.split
        assert row["user"] == P.history_text([sids[i] for i in past])
        assert row["system"] == P.SEQUENTIAL_SYSTEM
        if sample.split == "test":  # the test answer is never written down
            assert row["completion"] == "" and row["target"] == ""
        else:
            assert row["target"] == sample.item_id
            assert row["completion"] == f"<think>\n\n</think>\n{sids[sample.item_id]}"
        if sample.split == "train":
            phases = interactions[(interactions["user_id"] == sample.user_id)
                                  & (interactions["position"] < sample.position)]["split"]
            assert set(phases) == {"train"}


def test_sequential_history_is_cut_to_max_history():
    items, interactions, samples = tables()
    rows = sequential_rows(interactions, samples, sid_of(), TaskConfig(max_history=2))
    row = rows.set_index("key").loc["u2:6"]
    assert row["history"] == ["i5", "i9"]  # the two most recent events; the valid target is history for test


def test_compact_prompt_and_last_train_sample_per_user():
    items, interactions, samples = tables()
    sids = sid_of()
    rows = sequential_rows(interactions, samples, sids, TaskConfig(prompt="compact", sequential_train="last"))
    train = rows[rows["split"] == "train"].set_index("user_id")
    # u1: 6 events, train samples at positions 1..3 -> the one at position 3 (target i3, past i1 i2 i1)
    assert sorted(train.index) == ["u1", "u2"] and train.loc["u1", "key"] == "u1:3"
    assert train.loc["u1", "history"] == ["i1", "i2", "i1"] and train.loc["u1", "target"] == "i3"
    assert train.loc["u1", "system"] == "" and train.loc["u1", "user"] == sids["i1"] + sids["i2"] + sids["i1"]
    # valid and test rows are all kept
    held = rows[rows["split"] != "train"]
    assert len(held) == (samples["split"] != "train").sum()
    with pytest.raises(ValueError, match="tasks.prompt"):
        TaskConfig(prompt="short")


def test_alignment_uses_train_events_for_training_and_adds_the_summary(built):
    align = built["alignment"]
    train = align[align["split"] == "train"].set_index("key")
    valid = align[align["split"] == "valid"].set_index("key")
    assert train.loc["u1", "history"] == ["i1", "i2", "i1", "i3"]
    assert valid.loc["u1", "history"] == ["i1", "i2", "i1", "i3", "i7"]
    text = train.loc["u1", "completion"]
    assert text.startswith("The user has purchased the following items: " + sid_of()["i1"] + ', its title is "Rose Face Cream"')
    assert 'its categories are "Beauty > Skin Care > Face Creams"' in text
    assert text.endswith("User Summary: The user likes skin care.")
    assert train.loc["u1", "system"] == P.ALIGNMENT_SYSTEM and train.loc["u1", "user"] == P.ALIGNMENT_USER


def test_caption_maps_sid_to_title_and_summary(built):
    caption = built["caption"].set_index("key")
    assert len(caption) == 10 and set(caption["split"]) == {"train"}
    assert caption.loc["i3", "user"] == f"Provide a description for the itemic token: {sid_of()['i3']}."
    assert caption.loc["i3", "completion"] == "Argan Hair Oil. Summary of i3."
    items, _, _ = tables()
    short = build_tasks(items, *tables()[1:], sid_of(), {"i3": "x" * 50}, {}, TaskConfig(caption_max_chars=20))
    assert short["caption"].set_index("key").loc["i3", "completion"] == "Argan Hair Oil. xxxx..."


def test_general_is_plain_text_without_sids(built):
    general = built["general"]
    assert len(general) == 10
    assert not any(SID_BEGIN in c or "<s_" in c for c in general["completion"])
    assert general.set_index("key").loc["i1", "completion"] == "A light rose cream for daily use on dry skin."


def _task(name: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({c: [name if c == "task" else "train" if c == "split" else f"{name}{i}" for i in range(n)]
                         for c in ROW_COLUMNS})


def test_mixing_ratios_are_respected():
    tables_ = {"alignment": _task("alignment", 300), "sequential": _task("sequential", 5000),
               "caption": _task("caption", 400), "general": _task("general", 1000)}
    ratios = {"alignment": 0.25, "sequential": 0.6, "caption": 0.05, "general": 0.10}
    mixed = mix(tables_, MixtureConfig(ratios=ratios, seed=1))
    counts = mixed["task"].value_counts().to_dict()
    # alignment limits the scale: 300 / 0.25 = 1200 rows in all
    assert counts == {"alignment": 300, "sequential": 720, "caption": 60, "general": 120}
    for task, share in ratios.items():
        assert abs(counts[task] / len(mixed) - share) < 1e-9
    assert mixed["key"].is_unique  # sampled without replacement
    assert mixed["task"].tolist() != sorted(mixed["task"].tolist())  # shuffled
    capped = mix(tables_, MixtureConfig(ratios=ratios, total=100)).value_counts("task").to_dict()
    assert capped == {"alignment": 25, "sequential": 60, "caption": 5, "general": 10}
    assert mix(tables_, MixtureConfig(ratios=ratios, seed=1)).equals(mixed)  # seeded


def test_mixing_skips_zero_ratios_and_rejects_unknown_tasks():
    tables_ = {"alignment": _task("alignment", 10), "sequential": _task("sequential", 10)}
    mixed = mix(tables_, MixtureConfig(ratios={"alignment": 0.0, "sequential": 1.0}))
    assert set(mixed["task"]) == {"sequential"} and len(mixed) == 10
    with pytest.raises(ValueError, match="unknown tasks"):
        mix(tables_, MixtureConfig(ratios={"persona": 1.0}))


def test_user_summaries_see_train_events_only(tmp_path):
    from recforge.llm import LLMSettings

    items, interactions, _ = tables()
    contexts = user_summary_contexts(items, interactions, UserSummaryConfig(history=15), "beauty product")
    assert [i["item_id"] for i in contexts["u1"]["history"]] == ["i1", "i2", "i1", "i3"]
    assert contexts["u2"]["history"][2]["rating"] == 5.0
    table = summarize_users(items, interactions, UserSummaryConfig(), "beauty product", LLMSettings(),
                            tmp_path / "cache.sqlite", tmp_path / "users.parquet", tmp_path / "usage.json")
    assert set(table["user_id"]) == {"u1", "u2"} and table["error"].isna().all()
    for text in table["summary"]:
        assert text and not any(t.split()[0] in text for t in TITLES.values())
    assert pd.read_parquet(tmp_path / "users.parquet").equals(table)
