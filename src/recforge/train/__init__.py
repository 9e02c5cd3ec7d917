"""The one training layer of every LLM stage of every method (isir, OneRec-Think, and the methods to come).

A method's own modules keep only what is specific to it (its data, rewards, losses, extra trainer
subclasses); everything else about a training stage lives here:

- settings.py     `typed()`: settings dataclasses from config mappings, unknown keys rejected;
                  `StageSettings`: the config vocabulary every stage shares (sample caps, evaluation
                  cadence, trainer arguments, seed)
- arguments.py    TRL/transformers argument dataclasses from a stage's `args` + the fields the pipeline fixes
- select.py       best-on-valid selection that restores the selected weights (BestOnValid)
- checkpoints.py  checkpoint/resume keyed by a fingerprint of the stage's settings
- progress.py     step/loss/ETA lines in the rule's log (ProgressLog)
- save.py         saving the selected model (PEFT merged) through recforge.models, with its report
- launch.py, cli.py  `accelerate launch ... -m recforge.train.cli ENTRY --spec JSON`: the one entry shape
                  of every training rule (one process per GPU, DeepSpeed ZeRO-2, or CPU DDP processes)
"""
