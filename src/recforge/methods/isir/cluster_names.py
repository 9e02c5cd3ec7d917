"""Name each topic cluster with an LLM (seed 000, A.3.5): one `cluster_name` request per cluster over
its items nearest the centroid; the answer's "- Theme: [phrase]" is the name."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recforge.io import read_json, write_json, write_parquet
from recforge.llm.requests import make_request
from recforge.llm.settings import LLMSettings
from recforge.llm.stage import run_stage
from recforge.llm.types import GenerationRequest, Sampling
from recforge.methods.isir.clusters import cluster_members
from recforge.text.contexts import ClusterNameContext, item_info
from recforge.text.outputs import parse_theme
from recforge.text.render import template_id
from recforge.text.terms import document_frequency, item_terms

log = logging.getLogger(__name__)

NAME_COLUMNS = ("cluster", "name", "raw", "error", "parsed", "n_items", "backend", "model", "template")


@dataclass(frozen=True)
class ClusterNameConfig:
    domain: str = "item"
    top_k: int = 100  # items nearest the centroid shown per cluster (the paper's --top_k)
    temperature: float = 0.0
    max_tokens: int = 64
    seed: int = 0



def fallback_name(cluster: int) -> str:
    """The paper's name for an unnamed cluster."""
    return f"Topic_{cluster}"


def clean_theme(text: str) -> str | None:
    """The phrase after "Theme:" (text.outputs.parse_theme) without markdown bold or quotes; None when
    there is no usable phrase."""
    theme = parse_theme(text or "")
    if theme is None:
        return None
    theme = theme.strip().strip("*\"'`").strip()
    return theme or None


def dedupe_names(names: Sequence[str]) -> list[str]:
    """The paper's disambiguation: every occurrence of a name that occurs more than once gets the
    suffix `_j` (j = 0, 1, ... in order); unique names are kept as they are."""
    counts = Counter(names)
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        if counts[name] > 1:
            out.append(f"{name}_{seen[name]}")
            seen[name] += 1
        else:
            out.append(name)
    return out


def cluster_name_requests(
    clusters: pd.DataFrame, items: pd.DataFrame, config: ClusterNameConfig
) -> list[GenerationRequest]:
    """One `cluster_name` request per non-empty cluster (ascending id; request_id = str(cluster)),
    showing its `top_k` items nearest the centroid, nearest first."""
    catalogue = [item_info(row) for row in items.to_dict("records")]
    by_id = {info["item_id"]: info for info in catalogue}
    # Document frequencies once for the whole catalogue (recforge.text.contexts.cluster_name_context
    # would recompute them per cluster); each context keeps only its own items' terms.
    df, n_catalogue = document_frequency(catalogue)
    sampling = Sampling(temperature=config.temperature, max_tokens=config.max_tokens, seed=config.seed)
    requests = []
    for cluster, member_ids in cluster_members(clusters, config.top_k).items():
        nearest = [by_id[i] for i in member_ids if i in by_id]
        missing = len(member_ids) - len(nearest)
        if missing:
            log.warning("cluster %d: %d member items are not in items.parquet", cluster, missing)
        wanted = set().union(*(item_terms(i) for i in nearest)) if nearest else set()
        context = ClusterNameContext(
            domain=config.domain,
            items=nearest,
            term_df={t: df[t] for t in sorted(wanted) if t in df},
            n_catalogue=n_catalogue,
        )
        requests.append(make_request(str(cluster), "cluster_name", context, sampling))
    return requests


def name_clusters(
    clusters: pd.DataFrame,
    items: pd.DataFrame,
    config: ClusterNameConfig,
    settings: LLMSettings,
    cache_path: str | Path,
    out_path: str | Path,
    usage_path: str | Path,
) -> pd.DataFrame:
    """clusters table (recforge.methods.isir.clusters) + items.parquet -> one row per non-empty
    cluster: cluster, name (unique), raw (the LLM's answer), error, parsed (False: the name is the
    `Topic_{c}` fallback), n_items shown, backend, model, template (parquet at out_path). The usage
    sidecar at usage_path also counts the unparsed names."""
    requests = cluster_name_requests(clusters, items, config)
    run = run_stage(requests, settings, cache_path, usage_path, stage="isir_cluster_names")
    cluster_ids = [int(r.request_id) for r in run.responses]
    themes = [None if r.error else clean_theme(r.text) for r in run.responses]
    names = [t if t is not None else fallback_name(c) for c, t in zip(cluster_ids, themes)]
    unparsed = sum(t is None for t in themes)
    if unparsed:
        log.warning("%d of %d cluster names did not parse; they are Topic_{c}", unparsed, len(themes))
    duplicates = sum(n > 1 for n in Counter(names).values())
    if duplicates:
        log.info("%d names occur more than once; suffixed _j", duplicates)
    table = pd.DataFrame(
        {
            "cluster": pd.Series(cluster_ids, dtype="int64"),
            "name": dedupe_names(names),
            "raw": [r.text for r in run.responses],
            "error": pd.Series([r.error for r in run.responses], dtype=object),
            "parsed": [t is not None for t in themes],
            "n_items": [len(q.context["items"]) for q in requests],
            "backend": [r.backend for r in run.responses],
            "model": [r.model for r in run.responses],
            "template": template_id("cluster_name"),
        }
    )
    write_parquet(table, out_path)
    usage = read_json(usage_path)
    usage.update({"clusters": len(table), "unparsed_names": unparsed, "duplicate_names": duplicates})
    write_json(usage, usage_path)
    return table


def cluster_name_map(names: pd.DataFrame) -> dict[int, str]:
    """cluster -> name from a names table."""
    return {int(c): str(n) for c, n in zip(names["cluster"], names["name"])}
