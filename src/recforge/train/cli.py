"""The one entry point of every training rule, run under `accelerate launch`:

    accelerate launch ARGS -m recforge.train.cli PACKAGE.MODULE:FUNCTION --spec JSON [--threads N]

The spec holds the stage's input/output paths and settings (the rule builds it from config); it must
have `out_dir` (the model directory) and `report` (the stage report's path). FUNCTION(spec, resume)
trains in every process and returns the report (from the main process). Checkpoints of a killed run
with the same spec are resumed (checkpoints.py); the report is written and the checkpoints dropped by
the main process once the model is saved.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recforge.io import write_json
from recforge.train.checkpoints import drop_checkpoints, fingerprint, has_checkpoints, resume_from

log = logging.getLogger("recforge.train")


def entry_point(name: str) -> Callable[[dict[str, Any], bool], dict[str, Any] | None]:
    module, _, function = name.partition(":")
    if not function:
        raise ValueError(f"entry {name!r} is not MODULE:FUNCTION")
    return getattr(importlib.import_module(module), function)


def run(entry: str, spec: dict[str, Any]) -> dict[str, Any] | None:
    from accelerate import PartialState

    state = PartialState()
    out = spec["out_dir"]
    if state.is_main_process:
        resume_from(out, fingerprint({"entry": entry, **spec}))
    state.wait_for_everyone()
    report = entry_point(entry)(spec, has_checkpoints(out))
    state.wait_for_everyone()
    if state.is_main_process:
        write_json(report, Path(spec["report"]))
        drop_checkpoints(out)
        log.info("%s done: %s", entry, spec["report"])
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entry", help="MODULE:FUNCTION taking (spec, resume) and returning the report")
    parser.add_argument("--spec", required=True, help="JSON: paths and settings of the stage")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    run(args.entry, json.loads(args.spec))


if __name__ == "__main__":
    main()
