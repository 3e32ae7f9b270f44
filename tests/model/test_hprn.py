"""HPRN as a whole: shapes, parameter count, ablation switches, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hprn_geo.model import HPRN, MRB, SSRM, TCRM, HPRNConfig, build_model
from hprn_geo.model.hprn import MAX_SEGMENTS


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_paper_preset_has_the_authors_parameter_count() -> None:
    # Table X of the paper: 14.893 M; the authors' HPRN.py: 14,892,975 at 31 bands.
    assert _count(build_model("paper", 31)) == 14_892_975


@pytest.mark.parametrize("preset", ["paper", "compact"])
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 9), (33, 17)])
def test_any_size_gives_same_size_output(preset: str, size: tuple[int, int]) -> None:
    model = build_model(preset, 31).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 31, *size)
    assert torch.isfinite(out).all()


def test_precomputed_labels_equal_computed_ones(pavia_rgb: np.ndarray) -> None:
    model = build_model("compact", 16).eval()
    rgb = torch.from_numpy(pavia_rgb[:, :40, :48].copy())[None]
    with torch.no_grad():
        automatic = model(rgb)
        given = model(rgb, model.prior(rgb))
        other = model(rgb, torch.zeros(1, 4, 40, 48, dtype=torch.long))
    assert torch.equal(automatic, given)
    assert not torch.allclose(automatic, other)


def test_without_tcrm_has_no_tcrm() -> None:
    full, ablated = build_model("compact", 31), build_model("compact", 31, tcrm=False)
    assert sum(isinstance(m, TCRM) for m in full.modules()) == full.config.blocks
    assert not any(isinstance(m, TCRM) for m in ablated.modules())
    assert _count(ablated) < _count(full)


def test_without_ssrm_returns_the_coarse_estimate_and_ignores_labels() -> None:
    model = build_model("compact", 31, ssrm=False).eval()
    assert model.ssrm is None and not any(isinstance(m, SSRM) for m in model.modules())
    rgb = torch.rand(1, 3, 20, 20)
    junk = torch.randint(0, 5, (1, 4, 20, 20))
    with torch.no_grad():
        assert torch.equal(model(rgb), model.coarse(rgb))
        assert torch.equal(model(rgb, junk), model.coarse(rgb))
    assert model.prior(rgb) is None


def test_ssrm_refines_the_coarse_estimate() -> None:
    model = build_model("compact", 31).eval()
    rgb = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        assert not torch.allclose(model(rgb), model.coarse(rgb))


def test_scales_switch_sets_fusion_width_and_label_count() -> None:
    model = build_model("compact", 31, scales=(12,))
    assert model.ssrm.fuse.in_channels == 31
    assert model.ssrm.scales == (12,)
    rgb = torch.rand(1, 3, 24, 24)
    assert model.prior(rgb).shape == (1, 1, 24, 24)
    with pytest.raises(ValueError, match="labels must have shape"):
        model(rgb, torch.zeros(1, 4, 24, 24, dtype=torch.long))


def test_separate_query_key_adds_a_key_embedding() -> None:
    shared, separate = build_model("compact", 31), build_model("compact", 31, shared_qk=False)
    assert shared.ssrm.key is None
    assert separate.ssrm.key is not None
    assert _count(separate) - _count(shared) == 31 * 31 * 9


def test_unknown_preset_and_switch_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        build_model("huge", 31)
    with pytest.raises(TypeError, match="unknown switch"):
        build_model("compact", 31, attention=False)


def test_config_round_trips_through_json_form() -> None:
    config = build_model("compact", 7, scales=(8, 20), tcrm=False).config
    assert HPRNConfig.from_dict(config.to_dict()) == config


def test_gradients_reach_every_parameter(pavia_rgb: np.ndarray) -> None:
    torch.manual_seed(0)
    model = build_model("compact", 8, shared_qk=False)
    rgb = torch.from_numpy(pavia_rgb[:, 100:132, 50:82].copy())[None]
    model(rgb).square().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    # A PReLU slope only gets a gradient from negative inputs; every other weight must move.
    dead = [
        n for n, p in model.named_parameters()
        if not p.grad.abs().sum() > 0 and not n.endswith(("acts.0.weight", "gate.1.weight"))
    ]
    assert dead == []


def test_mrb_residual_structure_is_the_authors() -> None:
    block = MRB(8, tcrm=False).eval()
    with torch.no_grad():
        for conv in block.convs:
            conv.conv.weight.zero_()
        x = torch.randn(1, 8, 5, 5)
        # all convs zero: y1 = prelu(0) + x, y2 = prelu(0 + x), out = prelu(0 + x)
        expected = block.acts[3](x)
        assert torch.allclose(block(x), expected)


def test_model_saves_and_loads_with_weights_only(tmp_path) -> None:
    model = build_model("compact", 5)
    path = tmp_path / "m.pt"
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, path)
    loaded = torch.load(path, weights_only=True)
    again = HPRN(HPRNConfig.from_dict(loaded["config"]))
    again.load_state_dict(loaded["state_dict"])
    rgb = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        assert torch.equal(model.eval()(rgb), again.eval()(rgb))


def test_bf16_autocast_keeps_the_colour_path_in_float32(pavia_rgb: np.ndarray) -> None:
    """Head, global residual and band projection run in float32 under autocast, so a trained model's
    bf16 output stays within 0.5 % of fp32 (rounding the residual to bf16 gave ~2 %), and is float32."""
    from hprn_geo.registry import load_bundled

    model = load_bundled("vnir31").model
    rgb = torch.from_numpy(pavia_rgb[None, :, 100:164, 100:164].copy())
    with torch.no_grad():
        labels = model.prior(rgb)
        fp32 = model(rgb, labels)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model(rgb, labels)
            shallow = model.head(rgb)  # outside coarse(): autocast still applies
    assert bf16.dtype == torch.float32 and shallow.dtype == torch.bfloat16
    relative = ((bf16 - fp32).abs() / fp32.abs().clamp(min=1e-3)).mean().item()
    assert relative < 0.005, relative


def test_segment_counts_scale_with_the_image_area() -> None:
    model = build_model("compact", 16)
    assert model.segment_counts(128, 128) == (8, 12, 16, 20)  # no reference patch: the authors' counts
    model.prior_patch = 64
    assert model.segment_counts(64, 64) == (8, 12, 16, 20)
    assert model.segment_counts(128, 128) == (32, 48, 64, 80)
    assert model.segment_counts(32, 64) == (4, 6, 8, 10)
    assert model.segment_counts(4, 4) == (1, 1, 1, 1)
    assert model.segment_counts(1024, 1024) == (MAX_SEGMENTS,) * 4  # capped: the torch SLIC's memory grows with K


def test_a_tile_twice_the_patch_gets_segments_of_the_patch_s_size(pavia_rgb: np.ndarray) -> None:
    """A 128 x 128 tile of a model trained on 64 x 64 patches: about four times the segments, so the mean
    segment area is that of a 64 x 64 patch (SLIC returns roughly, not exactly, what it is asked)."""
    model = build_model("compact", 16)
    rgb = torch.from_numpy(pavia_rgb[:, :128, :128].copy())[None]
    fixed = model.prior(rgb)
    model.prior_patch = 64
    scaled = model.prior(rgb)
    quadrants = [model.prior(rgb[..., r : r + 64, c : c + 64]) for r in (0, 64) for c in (0, 64)]
    for s in range(4):
        counts = [len(torch.unique(labels[0, s])) for labels in (fixed, scaled)]
        in_quadrants = sum(len(torch.unique(labels[0, s])) for labels in quadrants)
        assert 2.5 < counts[1] / counts[0] < 7.0, counts
        assert 0.6 < counts[1] / in_quadrants < 1.6, (counts, in_quadrants)
