# Input functions and config lookups of rules/isir.smk.

ISIR = "results/{dataset}/isir"
ISIR_STUDENTS = {"isir": "align", "isir_noalign": "noalign"}


wildcard_constraints:
    student="|".join(ISIR_STUDENTS.values()),


def isir(dataset):
    return method_config(dataset, "isir")


def isir_keys(*keys, section=None):
    """Params function: only these keys of the isir config (or of one of its sections), so that a
    change elsewhere in `methods.isir` does not make this rule's outputs stale."""

    def params(wildcards):
        settings = isir(wildcards.dataset)
        settings = settings[section] if section else settings
        return {k: settings[k] for k in keys}

    return params


def isir_embeddings(wildcards):
    return item_embeddings(isir(wildcards.dataset)["embedder"], wildcards.dataset)


def isir_load(dataset):
    """How the trained isir models are loaded for generation (the base preset's dtype/attention)."""
    preset = base_model(dataset)
    return {
        "dtype": preset.dtype,
        "attn_implementation": preset.attn_implementation,
        "device": isir(dataset)["device"],
    }


def isir_policy_start(wildcards):
    """GRPO starts from the cold-start SFT model, or from the base model when `sft.enabled` is false
    (a model that already writes <think>..</think><answer>..</answer>)."""
    if isir(wildcards.dataset)["sft"]["enabled"]:
        return {"start": f"{ISIR}/sft/model".format(dataset=wildcards.dataset)}
    return base_model_input(wildcards)


def isir_stage_settings(stage):
    """Params function: a training stage's settings (recforge.train.StageSettings keys and the
    stage's own), with the subsets' seed and order; the student's kd_ratio is 0 for isir_noalign.
    """

    def stage_settings(wildcards):
        settings = isir(wildcards.dataset)
        chosen = dict(
            settings[stage],
            seed=settings["seed"],
            sample_order=settings["sample_order"],
        )
        if stage == "align" and wildcards.student == "noalign":
            chosen["kd_ratio"] = 0.0
        if stage == "sft":
            chosen["completion_limits"] = completion_limits(settings)
        return chosen

    return stage_settings


def completion_limits(settings):
    """The generation limits a policy taught by the SFT traces writes under, by setting name: the SFT
    stage checks them against the traces' lengths before it trains."""
    return {
        "methods.isir.grpo.args.max_completion_length": settings["grpo"]["args"].get(
            "max_completion_length"
        ),
        "methods.isir.teacher.max_new_tokens": settings["teacher"]["max_new_tokens"],
        "methods.isir.predict.cot_max_new_tokens": settings["predict"][
            "cot_max_new_tokens"
        ],
    }


def isir_prediction_model(wildcards):
    if wildcards.method == "isir_cot":
        return rules.isir_grpo.output.model
    return f"{ISIR}/student_{ISIR_STUDENTS[wildcards.method]}/model"
