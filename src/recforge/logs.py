"""Send a pipeline step's logging, warnings and progress bars to its log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_logging(log_path: str | Path | None, level: int = logging.INFO) -> None:
    """Log to `log_path` (created), or to stderr when None.

    stderr itself is redirected to the file too, so tqdm progress bars and tracebacks of a failing step
    land in the step's log rather than in the scheduler's output. The error that ends a failing step is
    also printed on the original stderr (the console, or the Slurm job's output): without it the user
    sees only Snakemake's "CalledProcessError ... check log file(s)" (see `_report_error_too`).
    """
    handlers: list[logging.Handler]
    if log_path is None:
        handlers = [logging.StreamHandler()]
    else:
        path = Path(log_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "a", buffering=1, encoding="utf-8")  # line-buffered: a killed job keeps its log
        sys.stderr = stream
        sys.excepthook = _report_error_too(path)
        handlers = [logging.StreamHandler(stream)]
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)


def _report_error_too(log_path: Path):
    """An excepthook: the full traceback into the log (sys.stderr, redirected), then the last line of it,
    e.g. ``DataError: ratings.csv:7: field 'rating': cannot parse 'x'``, on the original stderr."""

    def hook(exc_type, exc, tb) -> None:
        sys.__excepthook__(exc_type, exc, tb)
        if sys.__stderr__ is not None:
            print(f"{exc_type.__name__}: {exc}\n(full traceback in {log_path})", file=sys.__stderr__, flush=True)

    return hook
