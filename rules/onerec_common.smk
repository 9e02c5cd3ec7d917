# Input functions and config lookups of rules/onerec.smk.


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


def onerec_stage_settings(stage, *sections):
    """Params function: a training stage's settings ("train") with the valid ranking used for its
    selection and any other `sections` it reads (e.g. "rejection")."""

    def settings(wildcards):
        chosen = {"train": onerec_config(wildcards.dataset, stage)}
        for section in ("rank_eval", *sections):
            chosen[section] = onerec_config(wildcards.dataset, section)
        return chosen

    return settings


def onerec_prediction_model(wildcards):
    """onerec_think predicts with stage 2's model (no reasoning); onerec_think_cot with stage 3's, or
    GRPO's when methods.onerec_think.grpo.enabled."""
    if wildcards.method == "onerec_think":
        stage = "stage2"
    else:
        stage = (
            "grpo" if onerec_config(wildcards.dataset, "grpo")["enabled"] else "stage3"
        )
    return f"results/{wildcards.dataset}/onerec/{stage}"


ONEREC = "results/{dataset}/onerec"
ONEREC_TASKS = ("alignment", "sequential", "caption", "general")
