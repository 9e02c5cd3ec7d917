"""Which evaluation protocol scores each method (docs/contracts.md)."""

METHOD_PROTOCOLS: dict[str, str] = {
    "global_mean": "rating",
    "user_mean": "rating",
    "item_mean": "rating",
    "mf": "rating",
    "popularity": "topk",
    "sasrec": "topk",
    "isir": "rating",
    "isir_noalign": "rating",
    "isir_cot": "rating",
    "onerec_think": "topk",
    "onerec_think_cot": "topk",
}


def protocol_of(method: str) -> str:
    try:
        return METHOD_PROTOCOLS[method]
    except KeyError:
        raise KeyError(f"unknown method {method!r}; known: {sorted(METHOD_PROTOCOLS)}") from None
