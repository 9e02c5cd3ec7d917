"""RecLM SFT samples labelled by the SASRec teacher service (recforge.methods.reclm.labels)."""

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods.reclm import config as C
from recforge.methods.reclm.labels import build_samples
from recforge.methods.reclm.samples import read_chat
from recforge.settings import typed

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
samples_cfg = typed(C.SampleConfig, snakemake.params.samples, "methods.reclm.samples")
teacher_cfg = typed(C.TeacherConfig, snakemake.params.teacher, "methods.reclm.teacher")
frame = build_samples(tables.interactions, tables.samples, tables.items["item_id"].tolist(),
                      len(read_chat(snakemake.input.chat)), samples_cfg, teacher_cfg, snakemake.input.teacher,
                      threads=snakemake.threads)
write_parquet(frame, snakemake.output[0])
