"""Settings of every RecLM-uni step, one dataclass per config subsection (`methods.reclm.<section>`).
Defaults equal config/config.yaml's (tests/test_settings_defaults.py); unknown keys are errors."""

from __future__ import annotations

from dataclasses import dataclass

from recforge.train.settings import StageSettings

VARIANTS = ("cgen", "token", "ret")  # methods reclm_cgen, reclm_token, reclm_ret
METHOD_VARIANT = {f"reclm_{v}": v for v in VARIANTS}


def check_port(port: object) -> int:
    """The teacher's port: an int in 1..65535. The seed declared it a float, which made the URL
    `http://0.0.0.0:2068.0/inference` (seed notes 001, B.2); a float or a bool is refused here."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"teacher port must be an integer, got {port!r} ({type(port).__name__})")
    if not 1 <= port <= 65535:
        raise ValueError(f"teacher port {port} is outside 1..65535")
    return port


@dataclass(frozen=True)
class TeacherConfig:
    """The SASRec teacher service (POST /inference on 127.0.0.1:port, started by the rule that needs it)."""

    port: int = 2068
    start_timeout_s: float = 120.0  # bounded start: the health check must pass within this
    request_timeout_s: float = 60.0
    batch_size: int = 256  # users per /inference request

    def __post_init__(self) -> None:
        check_port(self.port)
        if self.start_timeout_s <= 0 or self.request_timeout_s <= 0 or self.batch_size < 1:
            raise ValueError("teacher timeouts and batch_size must be positive")


@dataclass(frozen=True)
class SampleConfig:
    """SFT samples (seed notes 001, B.1-B.3), drawn from train events only."""

    samples_per_user: int = 2  # the seed draws one fresh sample per user per epoch
    positions: str = "uniform"  # uniform: the seed's t ~ U{1..len-1}; last: the last train event, full history
    max_item_length: int = 10  # most recent history items in a prompt
    topk: int = 10  # item_count ~ U{1..topk} for train labels; valid/test prompts ask for topk
    candidate_num: int = 20  # candidate templates: U{topk..candidate_num} candidates
    tasks: str = "cs_mr"  # cs_mr: templates 0-3 (SFTSeqRec-CS-MR); mr: 2-3 (SFTSeqRec-MR); generate: 0, 2
    multi_round_ratio: float = 0.1  # share of train samples with a general-chat turn
    chat_path: str = "resources/chat/general_chat.jsonl"
    idx: bool = True  # number the items "1. ", "2. ", ...
    # Valid/test prompt: -1 the seed's test wording (SFTTestSeqRec-CS-MR), 0 or 2 a train template (the
    # seed's "-MR-same" test tasks, RecLM-ret's test); a tiny model trained from scratch only knows those.
    eval_template: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.eval_template not in (-1, 0, 2):
            raise ValueError(f"samples.eval_template must be -1, 0 or 2, got {self.eval_template!r}")
        if self.positions not in ("uniform", "last"):
            raise ValueError(f"samples.positions must be uniform or last, got {self.positions!r}")
        if self.tasks not in ("cs_mr", "mr", "generate"):
            raise ValueError(f"samples.tasks must be cs_mr, mr or generate, got {self.tasks!r}")
        if not 0 <= self.multi_round_ratio <= 1:
            raise ValueError("samples.multi_round_ratio must be in [0, 1]")
        if self.topk < 1 or self.candidate_num < self.topk or self.max_item_length < 1:
            raise ValueError("samples: need topk >= 1, candidate_num >= topk, max_item_length >= 1")


@dataclass(frozen=True)
class SFTConfig(StageSettings):
    """The SFT stage (recforge.train.StageSettings; args go to transformers' TrainingArguments) with
    RecLM's loss switches, all effective (seed notes 001, B.5, where they were ignored without
    --use_scope_mask):
    - scope_mask: inside <SOI>..<EOI> the softmax runs over the trie's allowed continuations only;
    - scope_mask_type: 1 skips positions with fewer than 2 allowed tokens, 2 positions whose only
      allowed token is <EOI>, 3 masks every title position;
    - loss_type: 3 cross-entropy, 2 focal loss at every label, 1 focal loss at title positions only;
    - fl_gamma: the focal exponent."""

    scope_mask: bool = True
    scope_mask_type: int = 3
    loss_type: int = 3
    fl_gamma: float = 2.0
    lora: bool = False  # false: every weight trains (the tiny model); true: the preset's LoRA + new token rows
    select: str = "ndcg"  # hr | ndcg (valid ranking, rank_eval) | loss
    # Not in the seed: every history item of a train prompt but the first is a target too (its tokens
    # for cgen/token, a retrieval position for ret), as OneRec-Think's stage2.history_loss.
    history_loss: bool = False

    def __post_init__(self) -> None:
        if self.scope_mask_type not in (1, 2, 3) or self.loss_type not in (1, 2, 3):
            raise ValueError("sft.scope_mask_type and sft.loss_type must be 1, 2 or 3")
        if self.fl_gamma < 0:
            raise ValueError("sft.fl_gamma must be >= 0")
        if self.select not in ("hr", "ndcg", "loss"):
            raise ValueError(f"sft.select must be hr, ndcg or loss, got {self.select!r}")


@dataclass(frozen=True)
class GRPOSettings(StageSettings):
    """reclm_cgen_grpo's stage from reclm_cgen's model (recforge.methods.reclm.grpo): StageSettings (args
    go to TRL's GRPOConfig; per_device_train_batch_size counts completions, prompts x num_generations)
    plus the reward's cut-off. Selection ranks rank_eval's valid subset every eval_steps."""

    reward_k: int = 10
    # false: every weight of cgen's (merged) model trains (the tiny model); true: the preset's LoRA
    # adapters only (a real checkpoint on one GPU), merged into the saved model.
    lora: bool = False


@dataclass(frozen=True)
class RetConfig:
    """RecLM-ret (seed notes 001, B.6): hidden state before <SOI> -> projection -> inner products with
    the item embedding table (recforge.embed vectors, trainable when item_emb)."""

    projection_hidden: int = 256
    emb_alpha: float = 1.0  # loss = emb_alpha * retrieval CE + LM loss
    item_emb: bool = True


@dataclass(frozen=True)
class RankEvalConfig:
    """Valid ranking for checkpoint selection: constrained generation on a seeded valid subset."""

    valid_samples: int = 100
    batch_size: int = 100
    max_new_tokens: int = 128
    min_items: int = 0  # as PredictConfig.min_items and item_beams: selection decodes as the test does
    item_beams: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        check_item_beams(self.item_beams, "rank_eval")


@dataclass(frozen=True)
class PredictConfig:
    k: int = 10  # list length (the seed's topk)
    num_beams: int = 1  # 1: greedy, as every seed script
    batch_size: int = 128
    max_new_tokens: int = 128  # the whole answer (k numbered items)
    # The answer may end only after this many items (0: when the model ends it). The request asks for k;
    # a small model trained on answers of 1..k items (the seed's U{1..topk}) stops after a few.
    min_items: int = 0
    # 0: the list is the decoded answer. B: the model's top items for the first answer slot, by a beam
    # search over whole items (B beams, renormalised scores), history items dropped; B >= k (the list
    # is shorter than k only when more than B - k beams named history items). Generation variants.
    item_beams: int = 0
    splits: tuple[str, ...] = ("test",)
    throughput_rows: int = 128  # rows timed with and without the trie (efficiency file)
    multi_round_rows: int = 32  # test rows asked a general question after the recommendation
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.min_items <= self.k:
            raise ValueError(f"predict.min_items must be in 0..k={self.k}, got {self.min_items}")
        check_item_beams(self.item_beams, "predict", self.k)


def check_item_beams(beams: int, section: str, k: int = 10) -> None:
    if beams and beams < k:
        raise ValueError(f"{section}.item_beams must be 0 or >= k={k} (one item per beam), got {beams}")
