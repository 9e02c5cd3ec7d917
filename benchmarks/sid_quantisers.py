"""Benchmark the semantic-ID quantisers against released SIDs (LETTER on Beauty, MiniOneRec on
Industrial): collision rate, codebook utilisation and perplexity per level for each, reconstruction
error and wall time for ours. This is a benchmark, not a test: nothing is asserted.

    .venv/bin/python benchmarks/sid_quantisers.py --datasets Beauty,Industrial --threads 2

Item embeddings: the dataset's items table built in memory by recforge.data (adapter and options from
config/config.yaml), embedded by recforge.embed with the default "minilm" spec (packaged
all-MiniLM-L6-v2, 384 dims, unit vectors) and cached in benchmarks_out/sid/{dataset}/ (delete to
re-embed). Our quantisers run with the reference's shape (levels x 256 codes) on those vectors.
The references were made from other embeddings (LETTER: LLaMA-7B title + description; MiniOneRec:
its own text encoder), so only the code statistics are comparable, not the reconstruction.

Reference ids: LETTER's Beauty.index.json is keyed by P5 item id - 1 (shared/data/amazon14_beauty_5core
PROVENANCE.md); MiniOneRec's Industrial index.json by the same remapped ids as its item.json, which
the minionerec adapter keeps as item_id.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECFORGE_SHARED_DATA", "/work/shared/data"))
REFERENCES = {
    "Beauty": ("LETTER", SHARED / "amazon14_beauty_5core/upstream/letter/Beauty.index.json", 1),
    "Industrial": ("MiniOneRec", SHARED / "amazon18_industrial_minionerec/Industrial_and_Scientific.index.json", 0),
}
_TOKEN = re.compile(r"<([a-z])_(\d+)>")
log = logging.getLogger("sid_benchmark")


def load_items(dataset: str, config: Path):
    import yaml

    from recforge.data.build import load_dataset

    cfg = yaml.safe_load(config.read_text())["datasets"][dataset]
    cwd = os.getcwd()
    os.chdir(ROOT)  # dataset paths in the config are relative to the repository root
    try:
        return load_dataset(cfg["adapter"], cfg.get("options", {})).items
    finally:
        os.chdir(cwd)


def item_embeddings(dataset: str, config: Path, cache: Path):
    from recforge.embed import EmbedderSpec, embed_items, load_item_embeddings, save_item_embeddings

    paths = cache / "minilm.npy", cache / "minilm.ids.parquet", cache / "minilm.json"
    if paths[0].exists() and paths[1].exists():
        log.info("%s: cached embeddings %s", dataset, paths[0])
        return load_item_embeddings(paths[0], paths[1]), json.loads(paths[2].read_text())
    items = load_items(dataset, config)
    spec = EmbedderSpec(name="minilm", device="cpu")
    emb, meta = embed_items(items, spec)
    save_item_embeddings(emb, meta, *paths)
    return emb, meta


def reference_codes(path: Path, id_offset: int) -> dict[str, list[int]]:
    """{our item_id: [code per level]} from an LC-Rec style index.json ({"0": ["<a_1>", "<b_2>", ...]})."""
    raw = json.loads(path.read_text())
    out = {}
    for key, tokens in raw.items():
        parsed = [_TOKEN.fullmatch(t).groups() for t in tokens]
        if [ord(a) - ord("a") for a, _ in parsed] != list(range(len(parsed))):
            raise ValueError(f"{path}: levels out of order for {key}: {tokens}")
        out[str(int(key) + id_offset)] = [int(c) for _, c in parsed]
    return out


def prefix_cosine(codes: np.ndarray, vectors: np.ndarray, depth: int = 2) -> float:
    """Mean pairwise cosine (unit vectors) of items sharing their first `depth` codes, averaged over
    prefixes with >= 2 items. On the reference SIDs this checks the id mapping (a wrong offset drops
    it to the random-pair level); on ours it is biased upward (built from these same vectors)."""
    groups: dict[tuple, list[int]] = {}
    for row, code in enumerate(codes[:, :depth].tolist()):
        groups.setdefault(tuple(code), []).append(row)
    sims = []
    for rows in groups.values():
        if len(rows) > 1:
            v = vectors[rows]
            n = len(rows)
            sims.append(((v @ v.T).sum() - np.trace(v @ v.T)) / (n * n - n))
    return float(np.mean(sims))


def random_pair_cosine(vectors: np.ndarray, seed: int = 0, pairs: int = 200_000) -> float:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(vectors), pairs), rng.integers(0, len(vectors), pairs)
    keep = a != b
    return float((vectors[a[keep]] * vectors[b[keep]]).sum(axis=1).mean())


def summary(report: dict) -> dict:
    keys = ("n_items", "levels", "collision_rate_raw", "collision_rate", "duplicate_rate_raw", "duplicate_rate",
            "max_items_per_code_raw", "max_items_per_code", "items_changed", "utilisation", "perplexity",
            "prefix_collision_rate", "reconstruction_mse", "reconstruction_mse_raw", "reconstruction_rel", "wall_s",
            "training")
    return {k: report[k] for k in keys if k in report}


def run_dataset(dataset: str, args) -> dict:
    from recforge.sid import RQVAEConfig, fit_rqkmeans, fit_rqvae, sid_report, write_sids
    from recforge.io import write_json

    out_dir = Path(args.out_dir) / dataset
    emb, emb_meta = item_embeddings(dataset, Path(args.config), out_dir)
    name, ref_path, offset = REFERENCES[dataset]
    ref = reference_codes(ref_path, offset)
    ids = emb.item_ids
    common = [i for i in ids if i in ref]
    ref_codes = np.array([ref[i] for i in common], dtype=np.int64)
    row = {item: k for k, item in enumerate(ids)}
    common_vectors = emb.vectors[[row[i] for i in common]]
    levels = ref_codes.shape[1] if args.levels == "reference" else int(args.levels)
    result = {
        "dataset": dataset,
        "items": len(ids),
        "embedding": {k: emb_meta.get(k) for k in ("embedder", "source", "dim", "normalized", "text_version")},
        "reference": {
            "name": name, "path": str(ref_path), "items_in_index": len(ref), "items_matched": len(common),
            "report": summary(sid_report(ref_codes, args.codebook_size)),
            "prefix2_cosine": prefix_cosine(ref_codes, common_vectors),
        },
        "random_pair_cosine": random_pair_cosine(emb.vectors),
    }
    log.info("%s: %d items, %s index %d items (%d matched), %d levels", dataset, len(ids), name, len(ref),
             len(common), levels)
    x = emb.vectors
    for key, balanced in (("rqkmeans", False), ("rqkmeans_balanced", True)):
        sids = fit_rqkmeans(x, ids, levels=levels, codebook_size=args.codebook_size, seed=args.seed,
                            niter=args.niter, balanced=balanced)
        write_sids(sids, out_dir / f"{key}_L{levels}.parquet")
        result[key] = {"settings": sids.report["settings"], "report": summary(sids.report),
                       "prefix2_cosine": prefix_cosine(sids.codes, x)}
    config = RQVAEConfig.from_dict({"levels": levels, "codebook_size": args.codebook_size, "seed": args.seed,
                                    "progress": False, **json.loads(args.rqvae)})
    sids = fit_rqvae(x, ids, config, weights_path=out_dir / f"rqvae_L{levels}.safetensors")
    write_sids(sids, out_dir / f"rqvae_L{levels}.parquet")
    result["rqvae"] = {"settings": sids.report["settings"], "report": summary(sids.report),
                       "prefix2_cosine": prefix_cosine(sids.codes, x),
                       "recon_mse_every_10_epochs": sids.report["history"]["recon_mse"][::10]}
    write_json(result, out_dir / f"sid_benchmark_L{levels}.json")
    return result


def table(results: list[dict]) -> str:
    def fmt(values, spec):
        return " / ".join(format(v, spec) for v in values)

    lines = ["| dataset | SIDs | levels x K | collisions before -> after | utilisation per level | "
             "perplexity per level | cos within 2-prefix | recon MSE (rel) | wall s |", "|---" * 9 + "|"]
    for res in results:
        rows = [(res["reference"]["name"] + " (released)", res["reference"])]
        rows += [("ours RQ-KMeans", res["rqkmeans"]), ("ours RQ-KMeans balanced", res["rqkmeans_balanced"]),
                 ("ours RQ-VAE", res["rqvae"])]
        for label, entry in rows:
            r = entry["report"]
            coll = (f"{r['collision_rate_raw']:.4f} -> {r['collision_rate']:.4f}" if "collision_rate_raw" in r
                    else f"{r['collision_rate']:.4f}")
            recon = (f"{r['reconstruction_mse']:.6f} ({r['reconstruction_rel']:.3f})" if "reconstruction_mse" in r
                     else "n/a")
            wall = f"{r['wall_s']:.1f}" if "wall_s" in r else "n/a"
            lines.append(f"| {res['dataset']} ({r['n_items']}) | {label} | {r['levels']} x 256 | {coll} | "
                         f"{fmt(r['utilisation'], '.2f')} | {fmt(r['perplexity'], '.1f')} | "
                         f"{entry['prefix2_cosine']:.3f} | {recon} | {wall} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="Beauty,Industrial")
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--levels", default="reference", help='"reference" (same as the released SIDs) or a number')
    parser.add_argument("--codebook-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--niter", type=int, default=20, help="k-means iterations (RQ-KMeans)")
    parser.add_argument("--rqvae", default="{}", help="JSON overrides of RQVAEConfig")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks_out" / "sid"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    import faiss
    import torch

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    start = time.perf_counter()
    results = [run_dataset(d, args) for d in args.datasets.split(",")]
    print(table(results))
    for res in results:
        print(f"{res['dataset']}: random item pairs cos {res['random_pair_cosine']:.3f}; "
              f"{res['reference']['name']} ids matched {res['reference']['items_matched']}/{res['items']}")
    print(f"\n{platform.processor() or platform.machine()}, torch {torch.__version__}, faiss {faiss.__version__}, "
          f"{args.threads} thread(s), total {time.perf_counter() - start:.0f}s; argv: {' '.join(sys.argv[1:])}")


if __name__ == "__main__":
    main()
