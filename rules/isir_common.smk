# Input functions and config lookups of rules/isir.smk.
import json

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


def isir_launch(wildcards, resources):
    """accelerate launch arguments: one process per GPU of the job (DeepSpeed ZeRO-2 when
    `launcher.deepspeed`), else `launcher.cpu_processes` CPU processes. Several CPU processes use
    accelerate's torchrun launcher (--multi_gpu; DDP over gloo): its --cpu launcher supports only
    mpirun."""
    launcher = isir(wildcards.dataset)["launcher"]
    gpus = int(resources.gpu)
    if gpus > 0:
        args = f"--num_processes {gpus} --num_machines 1"
        if launcher["deepspeed"]:
            return f"--config_file config/accelerate/deepspeed_zero2.yaml {args}"
        return f"--multi_gpu {args}" if gpus > 1 else args
    n = int(launcher["cpu_processes"])
    args = (
        f"--num_processes {n} --num_machines 1 --mixed_precision no --dynamo_backend no"
    )
    return f"--multi_gpu {args}" if n > 1 else f"--cpu {args}"


def isir_stage_settings(stage):
    """A training stage's settings and how its model loads. A rule lists this as a param of its own
    because Snakemake's params trigger skips params functions of input/output such as isir_spec.
    """

    def stage_settings(wildcards):
        settings = isir(wildcards.dataset)
        preset = base_model(wildcards.dataset)
        chosen = dict(settings[stage], seed=settings["seed"])
        if stage == "align":
            chosen["kd_ratio"] = (
                0.0 if wildcards.student == "noalign" else settings["align"]["kd_ratio"]
            )
        load = {
            "dtype": preset.dtype,
            "attn_implementation": preset.attn_implementation,
            "lora": {
                "r": preset.lora.r,
                "alpha": preset.lora.alpha,
                "dropout": preset.lora.dropout,
                "target_modules": list(preset.lora.target_modules),
            },
        }
        return {"settings": chosen, "load": load}

    return stage_settings


def isir_spec(stage):
    """The JSON spec of a training stage for recforge.methods.isir.cli."""
    stage_settings = isir_stage_settings(stage)

    def spec(wildcards, input, output):
        chosen = stage_settings(wildcards)
        start = (
            input.start
            if "start" in input.keys()
            else base_model(wildcards.dataset).path
        )
        doc = {
            "train": input.train,
            "valid": input.valid,
            "out_dir": output.model,
            "report": output.report,
            "settings": chosen["settings"],
            "start": {"path": start, **chosen["load"]},
        }
        doc.update(
            {k: input[k] for k in ("traces", "teacher_states") if k in input.keys()}
        )
        return json.dumps(doc)

    return spec


def isir_prediction_model(wildcards):
    if wildcards.method == "isir_cot":
        return rules.isir_grpo.output.model
    return f"{ISIR}/student_{ISIR_STUDENTS[wildcards.method]}/model"


def isir_efficiency(dataset):
    """Named inputs of gather_metrics' efficiency section: the prompt-length statistics and each
    enabled isir method's prediction timing ({} when no isir method is enabled)."""
    methods = [m for m in enabled_methods(dataset) if m in ("isir_cot", *ISIR_STUDENTS)]
    if not methods:
        return {}
    root = ISIR.format(dataset=dataset)
    return {
        "isir_prompts": f"{root}/verl/stats.json",
        **{m: f"{root}/efficiency/{m}.json" for m in methods},
    }
