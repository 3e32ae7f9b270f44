"""SOPC loss (eqs. 14-15) on a real cube."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from hprn_geo.model import band_covariance, relative_l1, sopc_loss


@pytest.fixture(scope="module")
def samson(shared_data: Path) -> torch.Tensor:
    """Real Samson cube as (1, 156, 95, 95) float32."""
    v = scipy.io.loadmat(shared_data / "cubes" / "samson.mat")["V"]
    cube = v.T.reshape(95, 95, 156, order="F").transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(cube, dtype=np.float32))[None]


def test_covariance_matches_numpy(samson: torch.Tensor) -> None:
    cube = samson[:, ::10]
    expected = np.cov(cube[0].reshape(cube.shape[1], -1).double().numpy(), bias=True)
    assert np.allclose(band_covariance(cube)[0].double().numpy(), expected, rtol=1e-4, atol=1e-8)


def test_identical_inputs_give_zero(samson: torch.Tensor) -> None:
    assert sopc_loss(samson, samson.clone()).item() == 0.0


def test_second_order_term_sees_band_correlated_errors_that_l1_does_not(
    samson: torch.Tensor,
) -> None:
    generator = torch.Generator().manual_seed(0)
    sigma = 0.02
    independent = samson + sigma * torch.randn(samson.shape, generator=generator)
    shared = samson + sigma * torch.randn((1, 1, 95, 95), generator=generator)  # same in every band
    l1_ind = sopc_loss(independent, samson, tau=0.0).item()
    l1_sha = sopc_loss(shared, samson, tau=0.0).item()
    cov_ind = sopc_loss(independent, samson, tau=1.0).item() - l1_ind
    cov_sha = sopc_loss(shared, samson, tau=1.0).item() - l1_sha
    assert abs(l1_ind - l1_sha) / l1_ind < 0.05
    assert cov_sha > 10 * cov_ind


def test_tau_weights_the_second_term(samson: torch.Tensor) -> None:
    pred = samson * 1.1
    base = sopc_loss(pred, samson, tau=0.0)
    assert torch.isclose(sopc_loss(pred, samson, tau=4.0) - base, 2 * (sopc_loss(pred, samson) - base))


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="differ"):
        sopc_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, 4))


def test_unit_weights_equal_the_unweighted_loss(samson: torch.Tensor) -> None:
    pred = samson * 1.1 + 0.01
    ones = torch.ones(1, 1, 95, 95)
    assert torch.isclose(sopc_loss(pred, samson, weight=ones), sopc_loss(pred, samson), rtol=1e-5)


def test_weighted_covariance_is_the_covariance_of_the_weighted_pixels(samson: torch.Tensor) -> None:
    cube = samson[:, ::10]
    weight = torch.zeros(1, 1, 95, 95)
    weight[..., 10:40, 20:70] = 1
    expected = np.cov(cube[0, :, 10:40, 20:70].reshape(cube.shape[1], -1).double().numpy(), bias=True)
    assert np.allclose(band_covariance(cube, weight)[0].double().numpy(), expected, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("loss_fn", [sopc_loss, relative_l1])
def test_zero_weight_pixels_are_no_target(samson: torch.Tensor, loss_fn: Callable[..., torch.Tensor]) -> None:
    """What the target holds where the weight is 0 changes neither the loss nor its gradient."""
    weight = torch.ones(1, 1, 95, 95)
    weight[..., 30:60, 30:60] = 0
    garbage = samson.clone()
    garbage[..., 30:60, 30:60] = torch.rand(1, 156, 30, 30)
    grads = []
    for target in (samson, garbage):
        pred = (samson * 0.9).requires_grad_()
        loss = loss_fn(pred, target, weight=weight)
        loss.backward()
        grads.append((loss.detach(), pred.grad))
    assert torch.equal(grads[0][0], grads[1][0])
    assert torch.equal(grads[0][1], grads[1][1])


def test_relative_l1_divides_by_the_target_with_a_floor() -> None:
    target = torch.tensor([0.5, 0.02, 0.001, -0.2]).reshape(1, 4, 1, 1)
    pred = target + torch.tensor([0.1, 0.01, 0.002, 0.1]).reshape(1, 4, 1, 1)
    expected = np.mean([0.1 / 0.5, 0.01 / 0.02, 0.002 / 0.01, 0.1 / 0.2])
    assert relative_l1(pred, target).item() == pytest.approx(expected, rel=1e-6)
    assert relative_l1(target, target.clone()).item() == 0.0
    weight = torch.ones(1, 1, 1, 1)
    assert relative_l1(pred, target, weight=weight).item() == pytest.approx(expected, rel=1e-6)


def test_relative_l1_weighs_dark_bands_more_than_sopc(samson: torch.Tensor) -> None:
    """The same absolute error costs more in a dark band than in a bright one (SOPC's L1 cannot tell)."""
    dark, bright = samson.mean(dim=(0, 2, 3)).argmin().item(), samson.mean(dim=(0, 2, 3)).argmax().item()
    errors = []
    for band in (dark, bright):
        pred = samson.clone()
        pred[:, band] += 0.01
        errors.append((relative_l1(pred, samson).item(), sopc_loss(pred, samson, tau=0.0).item()))
    assert errors[0][0] > 2 * errors[1][0]
    assert errors[0][1] == pytest.approx(errors[1][1], rel=1e-4)
