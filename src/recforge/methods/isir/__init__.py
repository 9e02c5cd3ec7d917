"""ISIR: seed 000's interest sketching and internalized reasoning for explicit rating prediction
("Token-Efficient Long-Term Interest Sketching and Internalized Reasoning for LLM-based
Recommendation"; seed notes Part A). One (user, candidate item) sample -> a 1-5 rating, scored under
the `rating` protocol (MAE, RMSE, accuracy, invalid rate).

The chain, a module per job:

1. Interest sketch: a token-cheap summary of the whole, long history.
   - `clusters`: faiss k-means (L2 on unit vectors, i.e. cosine) over the item embeddings; every item
     goes to its nearest centroid, and each cluster's items are ranked by distance to it.
   - `cluster_names`: one LLM request per cluster (template `cluster_name`) over its items nearest the
     centroid; the answer's "- Theme: [phrase]" names the cluster (`Topic_{c}` when it does not parse;
     duplicate names get the paper's `_j` suffixes).
   - `sketch`: per sample, per cluster, the liked (rating >= pos_threshold) and disliked events among
     the user's events *before the sample* (docs/contracts.md); the liked and disliked topics are
     listed. The paper counted the whole pre-valid history, which leaks a train target's own rating and
     every later one into its prompt; here a sample never sees its target or anything after it.
2. Prompts: `prompts` writes the paper's system prompt and rating prompt (sketch + the last
   max_history rated items + the candidate); `verl` turns them into train/val/test parquet in verl's
   RLHFDataset schema, keyed by sample_id, with prompt-length statistics (compact vs full history).
   `chat` renders a verl prompt for each model that reads it (CoT, teacher state, answer-only).
3. Reasoning policy: `sft` (optional cold start on LLM-written traces, so that a small model writes
   `<think>...</think><answer>r</answer>`), then `grpo` with the rule reward of `reward` (format +/-1
   plus content 2 - |pred - label|, -2 when unparseable).
4. Teacher: `teacher` runs the GRPO model's chain of thought on train samples and keeps a correctness
   mask keyed by sample_id; `hidden` stores its hidden states at the `<answer>` token after its own
   reasoning, for the samples it got right.
5. Hidden alignment: `align` trains a LoRA student on the GRPO model that sees an empty think block,
   learns the rating token and pulls its `<answer>` state towards the teacher's
   (`alignment_loss`; loss = (1 - kd_ratio) * LM + kd_ratio * alignment).
6. Inference: `predict` (with `generate`): answer-only (one token after `<answer>`) or with the full
   chain of thought, in the evaluator's `rating` schema, timed for the efficiency comparison.
`training` and `cli` hold what the training stages share and their `accelerate launch` entry point.

Methods (rating protocol):
- `isir`: the full chain: sketch prompts, GRPO, hidden alignment, answer-only inference.
- `isir_noalign`: the same student without the alignment term (kd_ratio 0: answer-only SFT of the
  rating token, which is also what the paper's code runs by default).
- `isir_cot`: the GRPO model itself, reasoning before its answer.
"""
