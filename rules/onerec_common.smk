# Input functions and config lookups of rules/onerec.smk.
from dataclasses import asdict


def onerec_config(dataset, section):
    return method_config(dataset, "onerec_think")[section]


def onerec_base(wildcards):
    """What the training scripts need of the base-model preset (plain dict: params are hashed)."""
    preset = base_model(wildcards.dataset)
    return {
        "path": preset.path,
        "dtype": preset.dtype,
        "attn_implementation": preset.attn_implementation,
    }


def onerec_cot_model(wildcards):
    """The model onerec_think_cot predicts with: GRPO's when methods.onerec_think.grpo.enabled."""
    stage = "grpo" if onerec_config(wildcards.dataset, "grpo")["enabled"] else "stage3"
    return f"results/{wildcards.dataset}/onerec/{stage}"


ONEREC = "results/{dataset}/onerec"
ONEREC_TASKS = ("alignment", "sequential", "caption", "general")
