"""sid strings and the sids.parquet artifact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recforge.models.tokens import SID_BEGIN, SID_END
from recforge.sid import SemanticIds, parse_sid_text, read_sids, sid_text, write_sids


def test_sid_text_uses_the_token_registry():
    assert sid_text([12, 7, 200]) == "<|sid_begin|><s_a_12><s_b_7><s_c_200><|sid_end|>"
    assert sid_text(np.array([0], dtype=np.int64)) == f"{SID_BEGIN}<s_a_0>{SID_END}"
    assert parse_sid_text("<|sid_begin|><s_a_12><s_b_7><s_c_200><|sid_end|>") == [12, 7, 200]


@pytest.mark.parametrize(
    "text", ["<s_a_1><s_b_2>", "<|sid_begin|><s_b_1><|sid_end|>", "<|sid_begin|><s_a_1>x<|sid_end|>",
             "<|sid_begin|><|sid_end|>"]
)
def test_parse_rejects_malformed_sids(text):
    with pytest.raises(ValueError):
        parse_sid_text(text)


def test_write_read_round_trip(tmp_path):
    sids = SemanticIds(
        ["10", "2", "x"],
        np.array([[1, 2, 3], [1, 2, 4], [0, 0, 0]]),
        np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0]]),
        {"quantiser": "rqkmeans", "perplexity": [1.5, 2.0, np.float64(2.5)], "wall_s": 0.1},
    )
    path = tmp_path / "sids.parquet"
    write_sids(sids, path)
    frame = pd.read_parquet(path)
    assert list(frame.columns[:3]) == ["item_id", "codes", "sid"]
    assert frame["sid"].tolist()[1] == "<|sid_begin|><s_a_1><s_b_2><s_c_4><|sid_end|>"
    back = read_sids(path)
    assert back.item_ids == ["10", "2", "x"]
    assert back.codes.dtype == np.int64
    np.testing.assert_array_equal(back.codes, sids.codes)
    np.testing.assert_array_equal(back.raw_codes, sids.raw_codes)
    assert back.report == {"quantiser": "rqkmeans", "perplexity": [1.5, 2.0, 2.5], "wall_s": 0.1}
    assert back.texts()["x"] == "<|sid_begin|><s_a_0><s_b_0><s_c_0><|sid_end|>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sids.parquet"]  # no temp files left


def test_semantic_ids_refuse_duplicate_codes_and_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="unique"):
        SemanticIds(["a", "b"], np.array([[1, 2], [1, 2]]), np.array([[1, 2], [1, 2]]))
    with pytest.raises(ValueError, match="shape"):
        SemanticIds(["a", "b"], np.array([1, 2]), np.array([1, 2]))
    pd.DataFrame({"item_id": ["a"]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="missing columns"):
        read_sids(tmp_path / "bad.parquet")
