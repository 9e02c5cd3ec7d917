"""Persona4Rec (seed 003): offline persona indexing of items from reviews, millisecond re-ranking.

The chain, one module per step (each a Snakemake artifact, rules/persona4rec.smk):
reviews.py    review text joined to the canonical events (position, split); the no-leak filters
aspects.py    stage 1, aspects per review through recforge.llm (strict JSON, repaired, failures counted)
personas.py   stage 2.5 grouping with the item summaries, stage 3 personas (2-7, ids {item_id}_{P#})
histories.py  stage 3.5 (no LLM): per-event interaction texts and the (user, train target) pairs
selection.py  stage 4, the LLM judge and its parser for both output formats
encoder.py    texts -> unit vectors (one pooling everywhere), recency-weighted profiles, InfoNCE
train.py      contrastive training with checkpoint selection on valid only
caches.py     fp16 persona / interaction caches with id indices
rerank.py     candidate lists from the first stage, max-persona and blended re-ranking, latency
"""
