"""Settings of every OneRec-Think step, one dataclass per config subsection
(`methods.onerec_think.<section>`). Unknown keys are errors, as in the rest of RecForge."""

from __future__ import annotations

from dataclasses import dataclass, field

from recforge.train.settings import StageSettings

# Task mixture of the fork's HEAD ("paper ratios", seed notes 1.4): alignment 24.30 %, sequential
# 65.73 %, caption 4.94 %, general 5.03 %.
PAPER_RATIOS = {"alignment": 0.2430, "sequential": 0.6573, "caption": 0.0494, "general": 0.0503}
# The CPU default: sequential-heavy, as an alignment row is about ten compact sequential rows long.
CPU_RATIOS = {"alignment": 0.05, "sequential": 0.85, "caption": 0.05, "general": 0.05}


@dataclass(frozen=True)
class TaskConfig:
    domain: str = "item"
    max_history: int = 20  # most recent events in a prompt (the seed truncates sequences to 50)
    caption_max_chars: int = 800  # fork: caption text cut to 800 characters + "..."
    general_max_chars: int = 1200
    like_threshold: float = 4.0
    # Sequential prompts: "official" (the released system prompt and "The user has purchased the
    # following items: a; b;") or "compact" (no system prompt, the SIDs only: about 40% fewer tokens).
    prompt: str = "compact"
    # Sequential train rows: "all" (one per train sample, the fork's sliding windows) or "last" (each
    # user's last train sample: its history holds the earlier train events, every one of them a target
    # when the stage trains with history_loss).
    sequential_train: str = "last"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.prompt not in ("official", "compact"):
            raise ValueError(f"tasks.prompt must be official or compact, got {self.prompt!r}")
        if self.sequential_train not in ("all", "last"):
            raise ValueError(f"tasks.sequential_train must be all or last, got {self.sequential_train!r}")


@dataclass(frozen=True)
class MixtureConfig:
    ratios: dict[str, float] = field(default_factory=lambda: dict(CPU_RATIOS))
    total: int | None = None  # cap on the mixture size (None: as large as the smallest task allows)
    seed: int = 42  # the fork samples with random_state=42


@dataclass(frozen=True)
class UserSummaryConfig:
    history: int = 15  # the fork summarises 15 items (of the full sequence: a leak; here train events)
    max_words: int = 120
    temperature: float = 0.4
    max_tokens: int = 256
    seed: int = 0


@dataclass(frozen=True)
class CotConfig:
    recent: int = 5  # recent history items the reasoning looks at
    max_words: int = 80
    temperature: float = 0.4  # LLM backends only; the heuristic writer is deterministic
    max_tokens: int = 160
    seed: int = 0


@dataclass(frozen=True)
class TrainConfig(StageSettings):
    """One supervised stage: recforge.train.StageSettings (args go to TRL's SFTConfig; prompt-completion
    data, loss on the completion only) plus how the stage is selected and what trains."""

    select: str = "hr"  # "hr" / "ndcg" (@ rank_eval.k, constrained beam search on valid) or "loss"
    lora: bool = False  # stage 2: LoRA (preset's LoRA defaults + trainable SID rows) instead of full
    # Loss also on every SID of a sequential prompt's history after the first item, so each position
    # predicts its next item (SASRec's objective) besides the completion's target: one row per user
    # then carries all of its train transitions.
    history_loss: bool = False

    def __post_init__(self) -> None:
        if self.select not in ("hr", "ndcg", "loss"):
            raise ValueError(f"select must be hr, ndcg or loss, got {self.select!r}")


@dataclass(frozen=True)
class RankEvalConfig:
    """Valid ranking used for selection: constrained beam search on a seeded valid subset."""

    valid_samples: int = 1000
    k: int = 10
    num_beams: int = 10
    batch_size: int = 16
    max_think_tokens: int = 64  # CoT stages: greedy think of at most this many tokens
    seed: int = 0


@dataclass(frozen=True)
class RejectionConfig:
    """Released reconstruct loop: sample thinks, beam-search SIDs after each, keep hits."""

    rounds: int = 2  # stage-3 SFT rounds; rejection sampling runs between rounds (1: none)
    n_thinks: int = 2
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 200
    max_think_tokens: int = 100
    beam_width: int = 5
    max_rows: int | None = 2000  # rows re-sampled per round (None: all training rows)
    keep: str = "sampled"  # "sampled": the hitting sampled think; "template": the row's own CoT (released)
    on_miss: str = "empty"  # "empty": empty think (released), "drop": drop the row, "template": keep CoT
    batch_size: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        if self.keep not in ("sampled", "template"):
            raise ValueError(f"rejection.keep must be sampled or template, got {self.keep!r}")
        if self.on_miss not in ("empty", "drop", "template"):
            raise ValueError(f"rejection.on_miss must be empty, drop or template, got {self.on_miss!r}")


@dataclass(frozen=True)
class GRPOSettings(StageSettings):
    """Optional reasoning enhancement: recforge.train.StageSettings (args go to TRL's GRPOConfig; its
    per_device_train_batch_size is prompts per step x num_generations) plus the reward's settings."""

    enabled: bool = False
    reward_k: int = 10
    num_beams: int = 10


@dataclass(frozen=True)
class PredictConfig:
    k: int = 20
    num_beams: int = 30  # > k: room for the history items that exclude_history drops
    batch_size: int = 16
    # Drop the items of the sample's whole history (not only the prompt's window) from the beams before
    # cutting to k, as SASRec and popularity do here (RecBole's full sort); num_beams > k leaves room.
    exclude_history: bool = True
    num_thinks: int = 1  # CoT: thinks per sample (1: greedy; >1: sampled, lists merged by best rank)
    think_temperature: float = 1.0  # only when num_thinks > 1
    think_top_p: float = 0.95
    max_think_tokens: int = 64
    splits: tuple[str, ...] = ("test",)
    seed: int = 0
