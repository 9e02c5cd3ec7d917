# The one shape of every LLM training step (recforge.train), a `shell:` that runs the stage's entry
# point under `accelerate launch` with a JSON spec. Each training step sets
#   output: model=directory(...), report=...         (the selected model and the stage report)
#   resources: **MODEL_RESOURCES                      (a GPU; sizes: profiles/)
#   params: **train_params("package.module:function", stage_settings_fn)
#   shell: TRAIN_SHELL
# The spec carries every named input and output path, `settings` and `start` (the model it starts
# from: `input.start`, else the base model, and how it loads).
import json

from recforge.train.launch import accelerate_args

# On failure the log's last line (the error, e.g. "ValueError: ...") is repeated on the console.
TRAIN_SHELL = (
    "accelerate launch {params.launch} -m recforge.train.cli {params.entry} "
    "--threads {threads} --spec {params.spec:q} > {log} 2>&1 || (tail -n 1 {log} >&2; exit 1)"
)


def train_launch(wildcards, resources):
    """accelerate launch arguments: one process per GPU of the job (DeepSpeed ZeRO-2 with
    `launcher.deepspeed`), else `launcher.cpu_processes` CPU processes."""
    launcher = config["launcher"]
    return accelerate_args(
        int(resources.gpu), int(launcher["cpu_processes"]), bool(launcher["deepspeed"])
    )


def base_model_load(dataset, name=None):
    """How a stage loads its starting model: the base preset's (or preset `name`'s) dtype, attention
    and LoRA defaults."""
    preset = (
        resolve_base_model(config["models"], dataset, name)
        if name
        else base_model(dataset)
    )
    return {
        "dtype": preset.dtype,
        "attn_implementation": preset.attn_implementation,
        "lora": {
            "r": preset.lora.r,
            "alpha": preset.lora.alpha,
            "dropout": preset.lora.dropout,
            "target_modules": list(preset.lora.target_modules),
        },
    }


def train_spec(stage_settings, model=None):
    """Params function: the JSON spec of a training rule. `stage_settings(wildcards)` returns the
    stage's settings (a plain dict: it is also the rule's `settings` param); `model(dataset)`, when
    given, names the preset the stage starts from instead of the dataset's base model.
    """

    def spec(wildcards, input, output):
        name = model(wildcards.dataset) if model else None
        start = (
            input.start
            if "start" in input.keys()
            else (
                resolve_base_model(config["models"], wildcards.dataset, name)
                if name
                else base_model(wildcards.dataset)
            ).path
        )
        doc = {
            **{name: input[name] for name in input.keys() if name != "start"},
            **{name: output[name] for name in output.keys() if name != "model"},
            "out_dir": output.model,
            "settings": stage_settings(wildcards),
            "start": {"path": start, **base_model_load(wildcards.dataset, name)},
        }
        return json.dumps(doc)

    return spec


# `resources: **MODEL_RESOURCES` wherever a model trains or generates; these are a local run's sizes.
# On a cluster, profiles/slurm sizes every rule (its values override these).
MODEL_RESOURCES = {"mem_mb": 8000, "runtime": 60, "gpu": gpu_request(1)}


def train_params(entry, stage_settings, model=None):
    """`params: **train_params(entry, stage_settings)`: the entry point (MODULE:FUNCTION taking
    (spec, resume)), the launcher arguments, the spec, and `settings`: what the spec holds of config,
    as a plain param, because Snakemake's params trigger skips params functions of input/output such
    as the spec."""
    return {
        "entry": entry,
        "launch": train_launch,
        "spec": train_spec(stage_settings, model),
        "settings": lambda wc: {
            "settings": stage_settings(wc),
            "load": base_model_load(wc.dataset, model(wc.dataset) if model else None),
            # CPU DDP processes change the global batch: a launcher change must rerun the stage.
            "launcher": dict(config["launcher"]),
        },
    }
