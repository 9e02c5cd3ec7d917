"""Report metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recforge.sid import collision_rate, perplexity, sid_report, utilisation


def test_report_matches_hand_computed_values():
    codes = np.array([[0, 0], [0, 1], [1, 0], [0, 1]])
    r = sid_report(codes, codebook_size=4)
    assert r["collision_rate"] == 0.5  # two of four items share (0, 1)
    assert r["duplicate_rate"] == 0.25  # 3 distinct codes for 4 items
    assert r["n_unique_codes"] == 3 and r["max_items_per_code"] == 2
    assert r["used_codes"] == [2, 2] and r["utilisation"] == [0.5, 0.5]
    level0 = math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))  # usage 3:1
    assert r["perplexity"] == pytest.approx([level0, 2.0])  # level 1 usage 2:2
    assert r["prefix_collision_rate"] == [0.75, 0.5]  # level 0: only the item on code 1 is alone


def test_perplexity_and_utilisation_extremes():
    assert perplexity(np.arange(8)) == pytest.approx(8.0)
    assert perplexity(np.zeros(8, dtype=int)) == pytest.approx(1.0)
    assert utilisation(np.array([0, 0, 3]), 16) == 2 / 16
    assert collision_rate(np.array([[1], [2], [3]])) == 0.0


def test_raw_codes_and_reconstruction_entries():
    codes = np.array([[0, 0], [0, 1], [1, 0]])
    raw = np.array([[0, 0], [0, 0], [1, 0]])
    x = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    recon = np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    r = sid_report(codes, [2, 4], raw_codes=raw, vectors=x, reconstruction=recon)
    assert r["collision_rate_raw"] == pytest.approx(2 / 3) and r["collision_rate"] == 0.0
    assert r["items_changed"] == 1
    assert r["utilisation"] == [1.0, 0.5]
    assert r["reconstruction_mse"] == pytest.approx((1 + 4) / 6)
    with pytest.raises(ValueError, match="codebook sizes"):
        sid_report(codes, [2, 4, 8])
