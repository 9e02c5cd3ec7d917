# RecForge: a table of contents. Logic lives in src/recforge; rules declare artifacts.
import os
import sys

from snakemake.utils import min_version, validate

# The library lives in src/: put it on the path of this process and of every job it starts, so the
# workflow runs from a plain checkout (and inside per-rule conda envs) without installing the package.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
# (The workflow sets PYTHONPATH rather than requiring it, so it is no `envvars:` entry.)
# Shell rules call console scripts (`accelerate launch`): find them next to the interpreter that runs
# Snakemake, so `.venv/bin/snakemake` works without an activated venv (a per-rule conda env, when
# used, is activated in front of this).
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
)

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/baselines.smk"
include: "rules/sasrec.smk"
include: "rules/models.smk"
include: "rules/isir.smk"
include: "rules/sid.smk"
include: "rules/onerec.smk"
include: "rules/evaluate.smk"


rule all:
    default_target: True
    input:
        expand("results/{dataset}/metrics.json", dataset=DATASETS),
