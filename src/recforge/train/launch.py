"""`accelerate launch` arguments of a training job: one process per GPU of the job (DeepSpeed ZeRO-2
with `deepspeed`), else `cpu_processes` CPU processes. Several CPU processes use accelerate's torchrun
launcher (--multi_gpu; DDP over gloo): its --cpu launcher supports only mpirun."""

from __future__ import annotations

DEEPSPEED_CONFIG = "config/accelerate/deepspeed_zero2.yaml"


def accelerate_args(gpus: int, cpu_processes: int = 1, deepspeed: bool = False) -> str:
    if gpus > 0:
        args = f"--num_processes {gpus} --num_machines 1"
        if deepspeed:
            return f"--config_file {DEEPSPEED_CONFIG} {args}"
        return f"--multi_gpu {args}" if gpus > 1 else args
    args = f"--num_processes {cpu_processes} --num_machines 1 --mixed_precision no --dynamo_backend no"
    return f"--multi_gpu {args}" if cpu_processes > 1 else f"--cpu {args}"
