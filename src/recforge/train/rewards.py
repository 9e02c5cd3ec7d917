"""The ranking reward shared by the generative recommenders' GRPO stages (OneRec-Think's rollout beam,
RecLM-uni's sampled lists): credit for the target at any rank of the list, so every valid preference
order earns something (multi-validity of preferences).

`ranking_reward`: hit@k + NDCG@k of the target in the list (de-duplicated keeping first occurrences,
docs/contracts.md). Hit at rank 1 -> 2.0, rank 3 -> 1.5, miss -> 0.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from recforge.eval.metrics import first_hit_rank


def ranking_reward(ranked: Sequence[str], target: str, k: int = 10, hit_weight: float = 1.0,
                   ndcg_weight: float = 1.0) -> float:
    """hit_weight * 1[rank <= k] + ndcg_weight * 1/log2(rank + 1) (0 for a miss or an empty target)."""
    if not target:
        return 0.0
    rank = first_hit_rank(list(ranked), target)
    if rank < 1 or rank > k:
        return 0.0
    return hit_weight + ndcg_weight / math.log2(rank + 1)
