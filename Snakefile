# RecForge: a table of contents. Logic lives in src/recforge; rules declare artifacts.
import os
import sys

from snakemake.utils import min_version, validate

# The library is the installed package `recforge` (pip install -e .; per-rule conda envs install it
# from the checkout). Training rules call `accelerate launch`: find console scripts next to the
# interpreter that runs Snakemake, so `.venv/bin/snakemake` works without an activated venv.
os.environ.update(
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
)

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/baselines.smk"
include: "rules/next_item.smk"
include: "rules/sasrec.smk"
include: "rules/models.smk"
include: "rules/isir.smk"
include: "rules/sid.smk"
include: "rules/onerec.smk"
include: "rules/persona4rec.smk"
include: "rules/reasoningrec.smk"
include: "rules/reclm.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


check_llm_stages()


rule all:
    default_target: True
    input:
        expand("results/{dataset}/metrics.json", dataset=DATASETS),
        expand("results/{dataset}/report/comparison.html", dataset=DATASETS),
