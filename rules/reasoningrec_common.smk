# Input functions and config lookups of rules/reasoningrec.smk (seed 004, recforge.methods.reasoningrec).
RR = "results/{dataset}/reasoningrec"
RR_VARIANTS = {"reasoningrec": "reason", "reasoningrec_noreason": "noreason"}


wildcard_constraints:
    rr_variant="reason|noreason",


def reasoningrec(dataset):
    return method_config(dataset, "reasoningrec")


def ctr_like_threshold(dataset):
    """The like threshold of the dataset's CTR windows, which the evaluator's ctr protocol labels
    with too: methods.reasoningrec.like_threshold with the dataset's overrides."""
    return reasoningrec(dataset)["like_threshold"]


def rr_model_name(dataset):
    """The chat model preset reasoningrec uses (its own `model`, not models.base_model)."""
    return reasoningrec(dataset)["model"]


def rr_model_input(wildcards):
    """The preset's checkpoint when the pipeline makes it (converted packaged model)."""
    preset = resolve_base_model(
        config["models"], wildcards.dataset, rr_model_name(wildcards.dataset)
    )
    return model_made_here(preset)


def rr_text_settings(dataset):
    s = reasoningrec(dataset)
    keys = ("like_threshold", "texts", "paper_texts", "description", "profile")
    return {k: s[k] for k in keys if k in s}


def rr_sft_settings(wildcards):
    return {
        **reasoningrec(wildcards.dataset)["sft"],
        "reasoning": wildcards.rr_variant == "reason",
    }


def rr_predict_input(wildcards):
    """The fine-tuned model of a method, or the base chat model for reasoningrec_zeroshot."""
    if wildcards.method == "reasoningrec_zeroshot":
        return rr_model_input(wildcards)
    return {"model": f"{RR}/sft_{RR_VARIANTS[wildcards.method]}".format(**wildcards)}


def rr_predict_model(wildcards, input):
    if wildcards.method == "reasoningrec_zeroshot":
        return resolve_base_model(
            config["models"], wildcards.dataset, rr_model_name(wildcards.dataset)
        ).path
    return input.model
