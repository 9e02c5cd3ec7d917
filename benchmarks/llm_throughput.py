"""Generation throughput of a local chat model through recforge.llm's transformers backend, and the
cost of running one LLM text stage with it: the numbers behind which stages use a real model by
default (docs/benchmarks.md, "A real chat model on a CPU").

    .venv/bin/python benchmarks/llm_throughput.py --model results/models/smollm2-135m-instruct \
        --items results/Movies/data/items.parquet --threads 1,2 --batch-sizes 1,8,16 \
        --clusters results/Movies/isir/clusters.parquet --out benchmarks_out/llm_throughput.json

Throughput: greedy item summaries (the summarize_items prompt, max_tokens fixed) for --requests
items, per (threads, batch size): generated tokens/s, prompt tokens/s and requests/s; no cache.
Stage cost (with --clusters): isir's cluster-name stage run end to end with this model (wall time,
names, duplicate names), the same call the rule makes. This is a benchmark, not a test: nothing is
asserted. Wall times depend on the machine's load (the JSON records the load average); the process's
CPU seconds much less so: on an idle machine wall time is about CPU seconds / threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from recforge.llm import LLMSettings, ResponseCache, Sampling, generate, make_request
from recforge.llm.backends.transformers_local import TransformersBackend
from recforge.llm.settings import TransformersSettings
from recforge.text.contexts import item_info


def summary_requests(items: pd.DataFrame, n: int, max_tokens: int):
    rows = items.head(n).to_dict("records")
    return [make_request(r["item_id"], "item_summary", {"domain": "movie", "item": item_info(r), "max_words": 40},
                         Sampling(max_tokens=max_tokens)) for r in rows]


def throughput(model: str, requests, threads: int, batch_size: int) -> dict:
    torch.set_num_threads(threads)
    backend = TransformersBackend(TransformersSettings(model=model, batch_size=batch_size))
    with tempfile.TemporaryDirectory() as tmp, ResponseCache(Path(tmp) / "c.sqlite") as cache:
        started, cpu_started = time.perf_counter(), time.process_time()
        run = generate(requests, backend, cache, progress=False)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    prompt = sum(r.usage.prompt_tokens for r in run.responses)
    completion = sum(r.usage.completion_tokens for r in run.responses)
    return {"threads": threads, "batch_size": batch_size, "requests": len(requests), "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "prompt_tokens": prompt, "completion_tokens": completion,
            "generated_tokens_per_cpu_s": round(completion / cpu, 1),
            "generated_tokens_per_s": round(completion / wall, 1), "prompt_tokens_per_s": round(prompt / wall, 1),
            "requests_per_s": round(len(requests) / wall, 3), "example": run.responses[0].text}


def cluster_names_cost(model: str, clusters: Path, items: pd.DataFrame, threads: int, batch_size: int) -> dict:
    from recforge.methods.isir.cluster_names import ClusterNameConfig, name_clusters

    torch.set_num_threads(threads)
    llm = LLMSettings(backend="transformers", transformers=TransformersSettings(model=model, batch_size=batch_size))
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu_started = time.perf_counter(), time.process_time()
        name_clusters(pd.read_parquet(clusters), items, ClusterNameConfig(domain="movie"), llm,
                      cache_path=Path(tmp) / "c.sqlite", out_path=Path(tmp) / "names.parquet",
                      usage_path=Path(tmp) / "usage.json")
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        names = pd.read_parquet(Path(tmp) / "names.parquet")
        usage = json.loads((Path(tmp) / "usage.json").read_text())
    return {"threads": threads, "batch_size": batch_size, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "usage": usage,
            "names": names.to_dict("records")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--items", required=True, type=Path)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch-sizes", default="1,8,16")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--clusters", type=Path, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    items = pd.read_parquet(args.items)
    requests = summary_requests(items, args.requests, args.max_tokens)
    threads = [int(t) for t in args.threads.split(",")]
    result = {"model": args.model, "machine": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(),
              "throughput": [throughput(args.model, requests, t, int(b))
                             for t in threads for b in args.batch_sizes.split(",")]}
    if args.clusters:
        result["isir_cluster_names"] = cluster_names_cost(args.model, args.clusters, items, max(threads), 8)
    result["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for row in result["throughput"]:
        print({k: v for k, v in row.items() if k != "example"})
    if args.clusters:
        print({k: v for k, v in result["isir_cluster_names"].items() if k != "names"})


if __name__ == "__main__":
    main()
