"""Send a pipeline step's logging, warnings and progress bars to its log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_logging(log_path: str | Path | None, level: int = logging.INFO) -> None:
    """Log to `log_path` (created), or to stderr when None.

    stderr itself is redirected to the file too, so tqdm progress bars and tracebacks of a failing step
    land in the step's log rather than in the scheduler's output.
    """
    handlers: list[logging.Handler]
    if log_path is None:
        handlers = [logging.StreamHandler()]
    else:
        path = Path(log_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "a", buffering=1, encoding="utf-8")  # line-buffered: a killed job keeps its log
        sys.stderr = stream
        handlers = [logging.StreamHandler(stream)]
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
