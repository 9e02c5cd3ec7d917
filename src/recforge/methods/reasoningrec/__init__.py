"""Seed 004, ReasoningRec: click-through (like) prediction with a chat model, reasoning distilled from a
larger LLM, the probability read from the Yes/No logits at the prediction slot (docs: README,
ReasoningRec section). Stages (rules/reasoningrec.smk):

windows (history of the last `history` events with Liked/Disliked, profile window of earlier events)
-> texts (item descriptions, user profiles through recforge.llm, or the paper's shipped texts)
-> prompts -> rationales (label-conditioned reasoning through recforge.llm) -> LoRA SFT ("predfirst":
label, then reasoning; or label only for the ablation) selected on valid AUC -> P(Yes) on valid/test.
"""
