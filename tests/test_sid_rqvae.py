"""RQ-VAE: the loss goes down, a seed fixes the codes, weights round-trip through safetensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recforge.sid import RQVAEConfig, fit_rqvae, load_rqvae, read_sids, write_sids

CONFIG = RQVAEConfig(
    levels=2, codebook_size=16, latent_dim=8, hidden_dims=(32,), batch_size=64, max_epochs=25, patience=25,
    seed=7, progress=False,
)


@pytest.fixture(autouse=True)
def one_thread():
    import faiss

    faiss.omp_set_num_threads(1)
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, list[str]]:
    """240 points around 8 cluster centres in 16 dimensions."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(8, 16)) * 3
    x = centres[rng.integers(0, 8, 240)] + rng.normal(size=(240, 16)) * 0.5
    return x.astype(np.float32), [f"item{k}" for k in range(240)]


@pytest.fixture(scope="module")
def fitted(data, tmp_path_factory):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("rqvae") / "rqvae.safetensors"
    return fit_rqvae(*data, CONFIG, weights_path=path), path


def test_training_reduces_the_loss_and_codes_are_unique(fitted):
    sids, _ = fitted
    history = sids.report["history"]
    assert len(history["loss"]) == 25
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert min(history["recon_mse"]) < 0.7 * history["recon_mse"][0]
    assert sids.report["training"]["best_recon_mse"] == pytest.approx(min(history["recon_mse"]), rel=1e-5)
    assert sids.codes.shape == (240, 2) and len(np.unique(sids.codes, axis=0)) == 240
    assert sids.report["collision_rate"] == 0.0 and sids.report["quantiser"] == "rqvae"
    assert sids.report["reconstruction_mse"] > 0


def test_same_seed_same_codes_and_the_callers_rng_is_untouched(data, fitted):
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    again = fit_rqvae(*data, CONFIG)
    assert torch.equal(torch.rand(3), expected_next)
    np.testing.assert_array_equal(again.raw_codes, fitted[0].raw_codes)
    np.testing.assert_array_equal(again.codes, fitted[0].codes)


def test_weights_are_safetensors_and_reproduce_the_codes(data, fitted):
    sids, path = fitted
    header_len = int.from_bytes(path.read_bytes()[:8], "little")  # safetensors: u64 header size + JSON
    assert path.read_bytes()[8:9] == b"{" and header_len < path.stat().st_size
    model, config = load_rqvae(path)
    assert config == CONFIG
    with torch.no_grad():
        codes = model.codes_of(model.encoder(torch.from_numpy(data[0]))).numpy()
    np.testing.assert_array_equal(codes, sids.raw_codes)


def test_early_stopping_and_report_survive_the_parquet_round_trip(data, tmp_path):
    config = RQVAEConfig(**{**CONFIG.__dict__, "max_epochs": 200, "patience": 3, "min_rel_improvement": 0.05})
    sids = fit_rqvae(*data, config, resolve="append")
    assert sids.report["training"]["stopped_early"] and sids.report["training"]["epochs"] < 200
    assert sids.codes.shape == (240, 3)
    write_sids(sids, tmp_path / "sids.parquet")
    back = read_sids(tmp_path / "sids.parquet")
    np.testing.assert_array_equal(back.codes, sids.codes)
    assert back.report["training"] == sids.report["training"]


def test_config_rejects_unknown_options_and_bad_input():
    with pytest.raises(ValueError, match="unknown RQVAEConfig keys"):
        RQVAEConfig.from_dict({"levels": 2, "codebook": 8})
    assert RQVAEConfig.from_dict({"hidden_dims": [8, 4]}).hidden_dims == (8, 4)
    with pytest.raises(ValueError, match="NaN"):
        fit_rqvae(np.full((4, 2), np.nan, dtype=np.float32), list("abcd"), CONFIG)
    with pytest.raises(ValueError, match="same length"):
        fit_rqvae(np.zeros((4, 2), dtype=np.float32), list("abc"), CONFIG)
