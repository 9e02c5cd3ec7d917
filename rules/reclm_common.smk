# Input functions and config lookups of rules/reclm.smk.


def reclm_config(dataset, section):
    return method_config(dataset, "reclm")[section]


def reclm_variant(method):
    """reclm_cgen -> cgen, reclm_token -> token, reclm_ret -> ret, reclm_cgen_grpo -> cgen_grpo (the
    model's folder; its items are cgen's titles)."""
    return method.split("_", 1)[1]


def reclm_sft_config(dataset, variant):
    """`sft` with the variant's own changes (`variant_sft.<variant>`) merged over it, so a change for
    one variant reruns that variant's SFT only."""
    return canonical(
        merged(
            reclm_config(dataset, "sft"),
            reclm_config(dataset, "variant_sft").get(variant, {}),
        )
    )


def reclm_stage_settings(wildcards):
    """The SFT stage's settings: the variant and the sections it reads."""
    dataset, variant = wildcards.dataset, wildcards.variant
    return {
        "variant": variant,
        **{
            section: (
                reclm_sft_config(dataset, variant)
                if section == "sft"
                else reclm_config(dataset, section)
            )
            for section in ("samples", "sft", "rank_eval", "ret")
        },
    }


def reclm_grpo_settings(wildcards):
    """The GRPO stage's settings and the sections it reads (cgen's items and valid ranking)."""
    return {
        section: reclm_config(wildcards.dataset, section)
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
