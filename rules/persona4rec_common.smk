# Input functions and config lookups of rules/persona4rec.smk.
from recforge.data.adapters import REVIEW_READERS

P4R = "results/{dataset}/persona4rec"


def p4r_config(dataset):
    return method_config(dataset, "persona4rec")


def p4r_section(section):
    """Params function: one section of methods.persona4rec (dataset overrides merged)."""
    return lambda wc: p4r_config(wc.dataset)[section]


def p4r_like_threshold(wildcards):
    return p4r_config(wildcards.dataset)["like_threshold"]


def p4r_review_file(wildcards):
    """The dataset's raw review file; only adapters with a review reader have review text."""
    settings = dataset_config(wildcards)
    if settings["adapter"] not in REVIEW_READERS:
        raise ValueError(
            f"datasets.{wildcards.dataset}: persona4rec needs review text; adapter "
            f"{settings['adapter']!r} has none (adapters with review text: {sorted(REVIEW_READERS)})"
        )
    return settings["options"]["reviews"]


def p4r_embedder(wildcards):
    """The embedder preset the encoder starts from (methods.persona4rec.encoder.embedder)."""
    name = p4r_config(wildcards.dataset)["encoder"]["embedder"]
    return config["embedder"]["presets"][name]
