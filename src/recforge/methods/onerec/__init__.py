"""OneRec-Think (seed 002): itemic alignment, reasoning activation and reasoning enhancement on a
causal LM whose vocabulary carries semantic-ID (SID) tokens.

The chain (one module per job; rules/onerec.smk runs one rule per arrow):

    sids.parquet + base model
      -> tasks.py      four prompt/completion task tables built only from what a model may see:
                       alignment (interleaved user persona grounding), sequential (history SIDs ->
                       next SID), caption (SID -> item text), general (catalogue text as plain LM
                       text), and their mixture with ratios from config
      -> summaries.py  user summaries from train-phase events only (through recforge.llm)
      -> cot.py        reasoning targets "<think>..</think>" written from the history alone (never
                       the target), deterministically or through recforge.llm with its own template
      -> vocab.py      SID tokens added by recforge.models.tokens.add_tokens, rows initialised from
                       the items' text embeddings (init_sid_embeddings), the item trie
      -> stages.py     stage 1 token warm-up (PEFT TrainableTokens, only SID rows train),
                       stage 2 multi-task SFT (full or LoRA), stage 3 reasoning activation
                       (CoT SFT rounds with rejection sampling in between, rejection.py)
      -> grpo.py       optional reasoning enhancement with TRL GRPO and the rollout-beam ranking
                       reward of reward.py
      -> select.py     every stage hands over its checkpoint best on valid (HR@10 of constrained
                       beam search on a valid subset, or valid loss), never simply the last
      -> predict.py    constrained beam search over valid/test samples -> topk predictions:
                       `onerec_think` (SID directly, stage 2 model) and `onerec_think_cot`
                       (think first, then the SID under the trie; stage 3 or GRPO model)

Prompt wording and completion format are in prompts.py; settings in config.py.
"""
