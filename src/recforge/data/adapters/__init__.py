"""Source-format adapters. Each is one public function returning a CanonicalDataset; its keyword
parameters are exactly the options a dataset's config may set (build_dataset checks them)."""

from __future__ import annotations

from collections.abc import Callable

from recforge.data.adapters.amazon2018 import load_amazon2018, read_review_texts
from recforge.data.adapters.amazon2023 import load_amazon2023
from recforge.data.adapters.llm4rec import load_llm4rec
from recforge.data.adapters.minionerec import load_minionerec
from recforge.data.adapters.movielens import load_movielens
from recforge.data.adapters.reasoningrec import load_reasoningrec
from recforge.data.adapters.reclm import load_reclm
from recforge.data.adapters.sequential_txt import load_sequential_txt
from recforge.data.canonical import CanonicalDataset

ADAPTERS: dict[str, Callable[..., CanonicalDataset]] = {
    "llm4rec": load_llm4rec,
    "sequential_txt": load_sequential_txt,
    "amazon2018": load_amazon2018,
    "amazon2023": load_amazon2023,
    "movielens": load_movielens,
    "minionerec": load_minionerec,
    "reasoningrec": load_reasoningrec,
    "reclm": load_reclm,
}

# Adapters whose source has review text: name -> reader of (user_id, item_id, timestamp, rating,
# review_title, review_text) rows, for review-based methods (Persona4Rec).
REVIEW_READERS: dict[str, Callable[..., "pd.DataFrame"]] = {"amazon2018": read_review_texts}

__all__ = ["ADAPTERS", "REVIEW_READERS", "load_amazon2018", "load_amazon2023", "load_llm4rec", "load_minionerec",
           "load_movielens", "load_reasoningrec", "load_reclm", "load_sequential_txt"]
