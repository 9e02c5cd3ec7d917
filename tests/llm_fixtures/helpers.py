"""Shared helpers of the model / LLM tests: fixture tables, a small tiny model, a local server."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent

# Small enough to build in seconds, large enough to condition on the prompt (outputs differ per item).
TEST_TINY = {
    "vocab_size": 1024,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_layers": 2,
    "num_heads": 4,
    "num_kv_heads": 2,
    "head_dim": 16,
    "eval_blocks": 8,
    "device": "cpu",
    "seed": 0,
    "pretrain": {"steps": 200, "batch_size": 8, "seq_len": 128, "warmup_steps": 10},
    "corpus": {"max_users": 60, "max_item_prompts": 40},
}


def read_jsonl(name: str) -> pd.DataFrame:
    return pd.DataFrame([json.loads(line) for line in open(HERE / name, encoding="utf-8")])


def movies_items() -> pd.DataFrame:
    return read_jsonl("movies_items.jsonl")


def movies_interactions() -> pd.DataFrame:
    frame = read_jsonl("movies_interactions.jsonl")
    frame["rating"] = frame["rating"].astype("float64")
    return frame


def industrial_items() -> pd.DataFrame:
    return read_jsonl("industrial_items.jsonl")


def build_test_model(out_dir: Path, **overrides) -> dict:
    import torch

    from recforge.models.tiny import TinyModelConfig, build_tiny_model

    torch.set_num_threads(1)  # tiny matrices: one thread is faster, and immune to busy neighbours
    raw = json.loads(json.dumps(TEST_TINY))
    for key, value in overrides.items():
        if isinstance(value, dict):
            raw[key].update(value)
        else:
            raw[key] = value
    return build_tiny_model(
        movies_items(), movies_interactions(), TinyModelConfig.from_dict(raw, domain="movie"), out_dir
    )


def shared_test_model(tmp_path_factory) -> Path:
    """One test model per pytest session, shared by every module that needs it."""
    path = tmp_path_factory.getbasetemp() / "shared_tiny_model"
    if not (path / "build_report.json").exists():
        build_test_model(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def transformers_server(model_dir: Path, timeout_s: float = 120.0):
    """`transformers serve MODEL --device cpu` on a free localhost port; yields its /v1 base URL and
    stops it (by its own pid) on exit. Its output goes to a file next to the model: a pipe nobody
    reads fills up after a few hundred requests and blocks the server."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cli = Path(sys.executable).parent / "transformers"
    log_path = Path(model_dir).parent / f"transformers_serve_{port}.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [str(cli), "serve", str(model_dir), "--device", "cpu", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"transformers serve exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("transformers serve did not come up")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
