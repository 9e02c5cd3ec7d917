"""RecLM's intermediate dataset in the seed's format (recforge.methods.reclm.export)."""

from recforge.io import read_tables
from recforge.logs import setup_logging
from recforge.methods.reclm import export
from recforge.models.loading import load_tokenizer

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
docs = export.export(tables.items, tables.interactions, load_tokenizer(snakemake.params.tokenizer))
export.write_intermediate(docs, {"category.jsonl": snakemake.output.category, "metas.jsonl": snakemake.output.metas,
                                 "sequential.jsonl": snakemake.output.sequential})
