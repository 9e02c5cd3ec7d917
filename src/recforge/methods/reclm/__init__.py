"""RecLM-uni (seed 001): generative top-K recommendation inside a chat model with zero out-of-domain
items: `reclm_cgen` (titles), `reclm_token` (semantic IDs) and `reclm_ret` (retrieval at <SOI>).

The chain (one module per job; rules/reclm.smk runs one rule per arrow):

    canonical tables + base tokenizer
      -> export.py     the seed's intermediate dataset (category/metas/sequential .jsonl, title_t
                       round-tripped without special tokens and made unique); the `reclm` data adapter
                       (recforge.data.adapters.reclm) reads it back
      -> teacher.py    the SASRec model artifact served over HTTP (POST /inference, 127.0.0.1, integer
                       port), started and stopped by the step that needs it
      -> samples.py,   SFT samples from train events, labels = target + teacher top-(k-1) without the
         labels.py     history, the seed's CS/MR templates, general-chat turns at multi_round_ratio
      -> sft.py        SFT with <SOI>/<EOI> (vocab.py, token registry), scope mask and focal loss
                       (loss.py), full fine-tuning or LoRA, selection on valid (entry.py: the
                       recforge.train entry point)
      -> decode.py     recforge.decode's exact trie inside <SOI>..<EOI> only, history and listed items
                       pruned (cgen, token); RecLM-ret's projection head and retrieval loop
      -> predict.py    topk predictions, the seed's diagnostics as rates, constrained vs unconstrained
                       throughput, the multi-round check

Settings: config.py (methods.reclm). GRPO (seed notes 001, B.8) is not implemented.
"""
