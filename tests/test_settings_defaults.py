"""config/config.yaml is where defaults are written. A settings dataclass may carry defaults for callers
outside the workflow, but one that disagrees with config.yaml is a bug (e.g. a beam count of 20 in code
and 30 in config): each is compared here, key by key."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path

import pytest
import yaml

from recforge.llm.item_summaries import ItemSummaryConfig
from recforge.methods.isir.align import AlignSettings
from recforge.methods.isir.cluster_names import ClusterNameConfig
from recforge.methods.isir.clusters import ClusterConfig
from recforge.methods.isir.teacher import TeacherSettings
from recforge.methods.isir.verl import VerlDataConfig
from recforge.methods.mf import MFConfig
from recforge.methods.ctr_logreg import CtrLogRegSettings
from recforge.methods.ctr_sasrec import CtrSASRecSettings
from recforge.methods.next_item import NextItemSettings
from recforge.methods.reasoningrec import config as reasoningrec
from recforge.methods.onerec import config as onerec
from recforge.methods.persona4rec import settings as p4r
from recforge.methods.reclm import config as reclm
from recforge.sid.rqvae import RQVAEConfig
from recforge.train.settings import StageSettings

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config/config.yaml").read_text())
METHODS = CONFIG["methods"]
ONE_TO_ONE = [
    (ClusterConfig, METHODS["isir"]["clusters"]),
    (ClusterNameConfig, METHODS["isir"]["cluster_names"]),
    (VerlDataConfig, METHODS["isir"]),
    (AlignSettings, METHODS["isir"]["align"]),
    (TeacherSettings, METHODS["isir"]["teacher"]),
    (MFConfig, METHODS["mf"]),
    (NextItemSettings, METHODS["next_item"]),
    (onerec.TaskConfig, METHODS["onerec_think"]["tasks"]),
    (onerec.MixtureConfig, METHODS["onerec_think"]["mixture"]),
    (onerec.UserSummaryConfig, METHODS["onerec_think"]["user_summary"]),
    (onerec.CotConfig, METHODS["onerec_think"]["cot"]),
    (onerec.RankEvalConfig, METHODS["onerec_think"]["rank_eval"]),
    (onerec.RejectionConfig, METHODS["onerec_think"]["rejection"]),
    (onerec.PredictConfig, METHODS["onerec_think"]["predict"]),
    (reclm.TeacherConfig, METHODS["reclm"]["teacher"]),
    (reclm.SampleConfig, METHODS["reclm"]["samples"]),
    (reclm.RetConfig, METHODS["reclm"]["ret"]),
    (reclm.RankEvalConfig, METHODS["reclm"]["rank_eval"]),
    (reclm.PredictConfig, METHODS["reclm"]["predict"]),
    (RQVAEConfig, CONFIG["sid"]["rqvae"]),
    (ItemSummaryConfig, CONFIG["llm"]["tasks"]["item_summary"]),
    # the nested sections are compared one by one below
    (p4r.Persona4RecSettings, {k: v for k, v in METHODS["persona4rec"].items() if not isinstance(v, dict)}),
    (p4r.SamplingSettings, METHODS["persona4rec"]["aspects"]),
    (p4r.PersonaSettings, METHODS["persona4rec"]["personas"]),
    (p4r.SelectionSettings, METHODS["persona4rec"]["selection"]),
    (p4r.EncoderSettings, METHODS["persona4rec"]["encoder"]),
    (CtrLogRegSettings, METHODS["ctr_logreg"]),
    (CtrSASRecSettings, METHODS["ctr_sasrec"]),
    (reasoningrec.TextTask, METHODS["reasoningrec"]["description"]),
    (reasoningrec.ReasoningTask, METHODS["reasoningrec"]["reasoning"]),
    (reasoningrec.PredictSettings, METHODS["reasoningrec"]["predict"]),
]
STAGES = [METHODS["onerec_think"][s] for s in ("stage1", "stage2", "stage3", "grpo")] + [
    METHODS["isir"][s] for s in ("sft", "grpo", "align")
] + [METHODS["reasoningrec"]["sft"], METHODS["reclm"]["sft"], METHODS["reclm"]["grpo"]]


def same(code, config) -> bool:
    if isinstance(code, (tuple, list)) and isinstance(config, (tuple, list)):
        return list(code) == list(config)
    if code is None or config is None:
        return code is None and config in (None, {})
    return code == config


@pytest.mark.parametrize("cls,section", ONE_TO_ONE, ids=[c.__name__ for c, _ in ONE_TO_ONE])
def test_dataclass_defaults_equal_config_yaml(cls, section):
    disagree = {}
    for f in fields(cls):
        if f.name not in section:
            continue
        default = f.default if f.default is not MISSING else (
            f.default_factory() if f.default_factory is not MISSING else MISSING)
        if default is not MISSING and not same(default, section[f.name]):
            disagree[f.name] = (default, section[f.name])
    assert not disagree, f"{cls.__name__}: code default vs config.yaml {disagree}"


@pytest.mark.parametrize("section", STAGES)
def test_every_training_stage_states_the_shared_keys(section):
    """Stage classes serve several sections with different values, so no default can equal all of
    them: every stage section in config.yaml states each shared key, and no code default applies."""
    shared = {f.name for f in fields(StageSettings)} - {"seed"}  # isir's seed is the method-wide one
    assert shared <= set(section) | ({"max_train_samples"} if "kd_ratio" in section else set()), sorted(shared - set(section))


def test_reasoningrec_top_level_and_profile_defaults_equal_config_yaml():
    """ReasoningRecSettings' nested sections are dataclasses, compared section by section above; its
    scalar keys and the profile task (TextTask with other defaults) here."""
    section = METHODS["reasoningrec"]
    code = reasoningrec.ReasoningRecSettings()
    for name in ("model", "like_threshold", "history", "profile_items", "texts"):
        assert getattr(code, name) == section[name], name
    assert code.profile == reasoningrec.TextTask(**section["profile"])


@pytest.mark.parametrize("overlay", sorted(p.name for p in (ROOT / "config").glob("*.yaml") if p.name != "schema.yaml"))
def test_every_shipped_overlay_keeps_the_config_valid(overlay):
    """Each config/*.yaml overlay, merged over config.yaml as `--configfile` merges it, passes the
    schema the Snakefile validates with: a misspelt key in an overlay fails here, not hours into a run."""
    import copy

    from snakemake.utils import update_config, validate

    merged = copy.deepcopy(CONFIG)
    update_config(merged, yaml.safe_load((ROOT / "config" / overlay).read_text()))
    validate(merged, str(ROOT / "config" / "schema.yaml"))
