# Input functions and config lookups of rules/models.smk (and of method rules that use a base model,
# embeddings or an LLM stage). Each reads only its own config section: models, embedder or llm.
from recforge.models.presets import base_model as resolve_base_model

EMBEDDERS = sorted(config["embedder"]["presets"])


wildcard_constraints:
    embedder="|".join(EMBEDDERS),


def base_model(dataset):
    """The dataset's base-model preset (models.base_model), path resolved."""
    return resolve_base_model(config["models"], dataset)


def base_model_input(wildcards):
    """{"base_model": build report} when the base model is built here (tiny); {} for a real preset,
    which is loaded by path or hub id. Use as `input: unpack(base_model_input)`."""
    preset = base_model(wildcards.dataset)
    return {"base_model": f"{preset.path}/build_report.json"} if preset.build else {}


def llm_domain(dataset):
    return config["llm"]["domains"].get(dataset, "item")


def _llm_local_model(dataset):
    """The model of a local backend (transformers, vllm): its `model`, or the base model."""
    settings = config["llm"][config["llm"]["backend"]]
    return settings.get("model") or base_model(dataset).path


def llm_settings(dataset):
    """Settings of the selected backend only, so that editing another backend's settings reruns
    nothing. Resolved into the dict recforge.llm.LLMSettings.from_dict reads."""
    llm = config["llm"]
    backend = llm["backend"]
    resolved = {"backend": backend, "max_repairs": llm["max_repairs"]}
    if backend == "openai":
        settings = dict(llm["openai"])
        price = settings.pop("price_per_million")
        resolved["pricing"] = {
            "prompt_per_million": price["prompt"],
            "completion_per_million": price["completion"],
        }
        resolved["openai"] = settings
    elif backend in ("transformers", "vllm"):
        resolved[backend] = {**llm[backend], "model": _llm_local_model(dataset)}
    return resolved


def llm_model_input(wildcards):
    """The built base model when a local LLM backend generates with it."""
    backend = config["llm"]["backend"]
    local = backend in ("transformers", "vllm")
    if local and not config["llm"][backend].get("model"):
        return base_model_input(wildcards)
    return {}


def llm_gpus(wildcards):
    """A GPU for a local LLM backend (transformers, vllm); none for heuristic/openai."""
    local = config["llm"]["backend"] in ("transformers", "vllm")
    return gpu_request(1)(wildcards) if local else 0


def llm_cache(stage):
    """Durable response cache of one LLM stage. Not an output: it survives failed jobs, which is
    what lets a rerun resume. One file per stage and dataset (SQLite WAL is per node).
    """
    return lambda wc: f"{config['llm']['cache_dir']}/{wc.dataset}/{stage}.sqlite"


def item_embeddings(embedder=None, dataset="{dataset}"):
    """Named inputs of an embedder's item embeddings (default: embedder.default), for method rules:
    `input: **item_embeddings()`; load with recforge.embed.load_item_embeddings(npy, ids).
    """
    name = embedder or config["embedder"]["default"]
    root = f"results/{dataset}/embeddings/{name}"
    return {"embeddings": f"{root}.npy", "embedding_ids": f"{root}.ids.parquet"}
