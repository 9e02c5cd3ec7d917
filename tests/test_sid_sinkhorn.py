"""Sinkhorn balances assignments that nearest-codeword search would pile onto one code."""

from __future__ import annotations

import torch

from recforge.sid.sinkhorn import sinkhorn_assign, sinkhorn_log_plan, sinkhorn_plan


def test_everyone_prefers_code_zero_but_sinkhorn_gives_the_optimal_permutation():
    d = torch.tensor(
        [[0.0, 1.0, 2.0, 3.0], [0.0, 0.5, 3.0, 3.0], [0.0, 3.0, 0.5, 3.0], [0.0, 3.0, 3.0, 0.5]]
    )
    assert d.argmin(dim=1).tolist() == [0, 0, 0, 0]
    assert sinkhorn_assign(d, epsilon=0.003, iters=50).tolist() == [0, 1, 2, 3]


def test_twice_as_many_items_as_codes_gives_two_per_code():
    g = torch.Generator().manual_seed(0)
    d = torch.rand(8, 4, generator=g)
    d[:, 0] -= 1.0  # nearest-codeword would send everything to code 0
    assert d.argmin(dim=1).tolist() == [0] * 8
    counts = torch.bincount(sinkhorn_assign(d, epsilon=0.003, iters=100), minlength=4)
    assert counts.tolist() == [2, 2, 2, 2]


def test_scaling_and_log_domain_agree_and_marginals_are_uniform():
    g = torch.Generator().manual_seed(1)
    d = torch.rand(64, 16, generator=g)
    plan = sinkhorn_plan(d, 0.05, 200)
    torch.testing.assert_close(plan, sinkhorn_log_plan(d, 0.05, 200).exp(), rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(plan.sum(1), torch.full((64,), 1 / 64, dtype=torch.float64))
    torch.testing.assert_close(plan.sum(0), torch.full((16,), 1 / 16, dtype=torch.float64), rtol=1e-3, atol=0)
    # a tiny epsilon takes the log domain and still balances
    counts = torch.bincount(sinkhorn_assign(d, epsilon=0.0005, iters=100), minlength=16)
    assert counts.max().item() <= 6
