# Input functions and config lookups of rules/reclm.smk.


def reclm_config(dataset, section, variant=None):
    """`methods.reclm.<section>`; with a variant, its own changes (`variants.<variant>.<section>`)
    merged over it, so a change for one variant reruns that variant only. reclm_cgen_grpo's model is
    cgen's, so it reads cgen's settings."""
    shared = method_config(dataset, "reclm")
    if variant is None:
        return shared[section]
    own = shared["variants"].get(reclm_base_variant(variant), {})
    return canonical(merged(shared[section], own.get(section, {})))


def reclm_base_variant(variant):
    return "cgen" if variant == "cgen_grpo" else variant


def reclm_samples_path(dataset, variant):
    """The variant's own sample table when it changes `samples`, else the shared one."""
    own = reclm_config(dataset, "samples", variant) != reclm_config(dataset, "samples")
    folder = f"results/{dataset}/reclm"
    return (
        f"{folder}/{reclm_base_variant(variant)}/samples.parquet"
        if own
        else f"{folder}/samples.parquet"
    )


def reclm_teacher_config(dataset, variant=None):
    """The teacher service's settings; a variant's own sample table gets its own port (the shared port
    + 1 + the variant's index), so two sample rules can run at once."""
    teacher = reclm_config(dataset, "teacher")
    if variant is None:
        return teacher
    return {**teacher, "port": teacher["port"] + 1 + RECLM_VARIANTS.index(variant)}


def reclm_chat(wildcards):
    """The general-chat file of the rule's variant (wildcard variant, or method for predictions; the
    shared one for the shared samples)."""
    if "variant" in wildcards.keys():
        variant = wildcards.variant
    elif "method" in wildcards.keys():
        variant = reclm_variant(wildcards.method)
    else:
        variant = None
    return reclm_config(wildcards.dataset, "samples", variant)["chat_path"]


def reclm_variant(method):
    """reclm_cgen -> cgen, reclm_token -> token, reclm_ret -> ret, reclm_cgen_grpo -> cgen_grpo (the
    model's folder; its items are cgen's titles)."""
    return method.split("_", 1)[1]


def reclm_stage_settings(wildcards):
    """The SFT stage's settings: the variant and the sections it reads."""
    dataset, variant = wildcards.dataset, wildcards.variant
    return {
        "variant": variant,
        **{
            section: reclm_config(dataset, section, variant)
            for section in ("samples", "sft", "rank_eval", "ret")
        },
    }


def reclm_grpo_settings(wildcards):
    """The GRPO stage's settings and the sections it reads (cgen's items and valid ranking)."""
    return {
        section: reclm_config(wildcards.dataset, section, "cgen_grpo")
        for section in ("samples", "grpo", "rank_eval")
    }


def reclm_variant_inputs(variant, dataset="{dataset}"):
    """What a variant reads besides the samples: SIDs (token) or item embeddings (ret)."""
    if variant == "token":
        return {"sids": f"results/{dataset}/sid/sids.parquet"}
    if variant == "ret":
        return item_embeddings(None, dataset)
    return {}


def reclm_sft_inputs(wildcards):
    return reclm_variant_inputs(wildcards.variant, wildcards.dataset)


def reclm_predict_inputs(wildcards):
    variant = reclm_variant(wildcards.method)
    return {
        "model": f"results/{wildcards.dataset}/reclm/{variant}/model",
        **reclm_variant_inputs(variant, wildcards.dataset),
    }


RECLM = "results/{dataset}/reclm"
RECLM_VARIANTS = ("cgen", "token", "ret")
