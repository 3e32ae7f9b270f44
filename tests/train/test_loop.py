"""The training loop on a real cube: the loss falls, runs resume to the same state."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hprn_geo.cli.train_commands import train as train_command
from hprn_geo.errors import CheckpointError, ConfigError
from hprn_geo.model import build_model, relative_l1
from hprn_geo.registry import load_checkpoint
from hprn_geo.train import TrainConfig, load_config
from hprn_geo.evaluate.baselines import KNNBaseline
from hprn_geo.model import linear_init, lookup_init
from hprn_geo.model.init import LOOKUP_NEIGHBOURS
from hprn_geo.scenes import training_pairs
from hprn_geo.train.data import renderer_for
from hprn_geo.train.loop import Trainer, config_scenes, protocol, train


def _config(data_dir: Path, **changes: object) -> TrainConfig:
    """A tiny run: samson for training, moffett for validation, 32 px patches, a 16-channel 1-MRB HPRN."""
    values: dict[str, object] = {
        "name": "tiny31", "train": ["samson"], "validation": ["moffett"], "data_dir": str(data_dir),
        "camera": "ntire2020_cie1964", "augment_cameras": ["Canon 40D", "Nikon D700"], "fwhm": 10.0,
        "patch_size": 32, "overlap": 8, "pool_size": 12, "batch_size": 2, "steps": 20, "lr": 2e-3,
        "val_every": 10, "checkpoint_every": 10, "patience": 5,
        "switches": {"channels": 16, "blocks": 1, "scales": [8, 12]},
    }  # fmt: skip
    values.update(changes)
    return load_config(None, **values)


def _trainer(config: TrainConfig, run_dir: Path) -> Trainer:
    run_dir.mkdir(exist_ok=True)
    scenes = config_scenes(config, config.train)
    return Trainer(config, run_dir, scenes, config_scenes(config, config.validation), renderer_for(config))


@pytest.mark.slow
def test_tiny_run_learns_and_writes_everything(shared_data: Path, tmp_path: Path) -> None:
    result = train(_config(shared_data), tmp_path / "run", progress=False)
    with (tmp_path / "run" / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    losses = [float(r["loss"]) for r in rows]
    assert len(rows) == result.steps_run == 20
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    validated = [float(r["val_mrae"]) for r in rows if r["val_mrae"]]
    assert len(validated) == 2 and result.best_val_mrae == pytest.approx(min(validated), rel=1e-5)
    checkpoint = load_checkpoint(result.checkpoint)
    assert checkpoint.card.trained and checkpoint.card.patch_size == 32
    assert checkpoint.card.scores["validation_mrae"] == pytest.approx(result.best_val_mrae)
    assert checkpoint.card.input.startswith("camera:ntire2020_cie1964")
    assert (tmp_path / "run" / "training.png").stat().st_size > 0
    with pytest.raises(CheckpointError, match="already holds a run"):
        train(_config(shared_data), tmp_path / "run", progress=False)


@pytest.mark.slow
def test_resume_continues_to_the_same_state(shared_data: Path, tmp_path: Path) -> None:
    config = _config(shared_data, steps=8)
    straight = _trainer(config, tmp_path / "a")
    losses = [straight.train_step() for _ in range(4)]

    interrupted = _trainer(config, tmp_path / "b")
    for _ in range(2):
        interrupted.train_step()
    interrupted.save_state()
    resumed = _trainer(config, tmp_path / "b")
    assert resumed.load_state() is False and resumed.step == 2
    assert [resumed.train_step() for _ in range(2)] == losses[2:]
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)
    assert resumed.scheduler.get_last_lr() == straight.scheduler.get_last_lr()


def test_resume_refuses_another_configuration(shared_data: Path, tmp_path: Path) -> None:
    config = _config(shared_data, pool_size=2, switches={"channels": 8, "blocks": 1, "ssrm": False})
    trainer = _trainer(config, tmp_path)
    trainer.save_state()
    other = _trainer(config.replace(lr=1e-4), tmp_path)
    with pytest.raises(CheckpointError, match="different configuration"):
        other.load_state()
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(config, tmp_path / "empty", resume=True, progress=False)


def test_train_command_reads_toml_and_flags(shared_data: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(
        f'name = "tiny"\nwavelengths = {{ start = 450, stop = 650, count = 5 }}\ndata_dir = "{shared_data}"\n'
        'train = ["samson"]\nvalidation = ["moffett"]\ncamera = "ntire2020_cie1964"\naugment_cameras = []\n'
        "patch_size = 16\noverlap = 4\npool_size = 2\nbatch_size = 1\nsteps = 50\nval_every = 1\n"
        'switches = { channels = 4, blocks = 1, ssrm = false }\n'
    )
    result = CliRunner().invoke(train_command, ["--config", str(config), "--out", str(tmp_path / "run"), "--steps", "2", "-q"])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "run" / "model.json").read_text())
    assert card["name"] == "tiny" and card["wavelengths"] == [450.0, 500.0, 550.0, 600.0, 650.0]
    assert card["scores"]["protocol"]["steps"] == 2
    refused = CliRunner().invoke(train_command, ["--out", str(tmp_path / "x"), "--camera", "x"])
    assert refused.exit_code == 1 and "at least one training scene" in refused.output


def test_linear_init_starts_at_the_least_squares_map(shared_data: Path) -> None:
    config = _config(shared_data)
    scenes = config_scenes(config, config.train)
    rgb, spectra = training_pairs(scenes, renderer_for(config))
    model = build_model("compact", 31, channels=8, blocks=1, scales=(8,))
    weights = linear_init(model, rgb, spectra)
    np.testing.assert_allclose(weights, np.linalg.lstsq(rgb.T, spectra.T, rcond=None)[0], rtol=1e-4, atol=1e-6)
    image = torch.from_numpy(rgb[:, :400].reshape(1, 3, 20, 20))
    with torch.no_grad():
        out = model(image)
    expected = np.einsum("cb,chw->bhw", weights, image[0].numpy())
    np.testing.assert_allclose(out[0].numpy(), expected, rtol=1e-4, atol=1e-6)


def test_blended_linear_init_is_the_weighted_mean_of_the_plain_and_relative_maps(shared_data: Path) -> None:
    config = _config(shared_data)
    rgb, spectra = training_pairs(config_scenes(config, config.train), renderer_for(config))
    model = build_model("compact", 31, channels=8, blocks=1, ssrm=False)
    relative, plain = (linear_init(model, rgb, spectra, 0.005, p) for p in (0.0, 1.0))
    np.testing.assert_allclose(plain, np.linalg.lstsq(rgb.T, spectra.T, rcond=None)[0], rtol=1e-4, atol=1e-6)
    blended = linear_init(model, rgb, spectra, 0.005, 0.25)
    np.testing.assert_allclose(blended, 0.25 * plain + 0.75 * relative, rtol=1e-9, atol=1e-12)
    with torch.no_grad():
        out = model(torch.from_numpy(rgb[:, :400].reshape(1, 3, 20, 20)))[0].numpy().reshape(31, 400)
    np.testing.assert_allclose(out, blended.T @ rgb[:, :400], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="plain must lie in"):
        linear_init(model, rgb, spectra, 0.005, 1.5)
    with pytest.raises(ValueError, match="needs SSRM's fusion bias"):
        linear_init(model, rgb, spectra, intercept=True)


def test_the_protocol_states_a_blended_start_and_older_cards_stay_exact(shared_data: Path) -> None:
    """``init_plain`` came after the first bundled cards: at 0 (what they were trained with) it is left out."""
    config = _config(shared_data)
    assert "init_plain" not in protocol(config) and protocol(config)["init_floor"] == config.init_floor
    assert protocol(config.replace(init_plain=0.25))["init_plain"] == 0.25
    # ... and runs written before it still resume: the digest is the one of the fields they knew
    known = {k: v for k, v in config.to_dict().items() if k != "init_plain"}
    assert config.digest() == hashlib.sha256(json.dumps(known, sort_keys=True).encode()).hexdigest()[:16]
    assert config.replace(init_plain=0.25).digest() != config.digest()


def test_lookup_init_starts_at_the_knn_of_the_training_pixels(shared_data: Path) -> None:
    """At a grid point of the table the untrained network is the kNN baseline (k = LOOKUP_NEIGHBOURS):
    brightness times the mean spectrum per unit brightness of the training pixels nearest in chromaticity."""
    config = _config(shared_data)
    rgb, spectra = training_pairs(config_scenes(config, config.train), renderer_for(config))
    model = build_model("compact", 31, channels=8, blocks=1, ssrm=False, lookup=16)
    lookup_init(model, rgb, spectra)
    nodes = np.array([(r, g) for r in range(4, 9) for g in range(3, 8)]) / 15  # (25, 2) grid points (r, g)
    image = np.stack([nodes[:, 0], nodes[:, 1], 1 - nodes.sum(1)]) * np.linspace(0.2, 1.4, 25)  # (3, 25)
    expected = KNNBaseline(k=LOOKUP_NEIGHBOURS).fit(rgb, spectra).predict(image)
    with torch.no_grad():
        out = model(torch.from_numpy(image.reshape(1, 3, 5, 5)).float())
    np.testing.assert_allclose(out[0].numpy().reshape(31, 25), expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(ConfigError, match="needs a lookup table"):
        config.replace(init="lookup")


@pytest.mark.slow
def test_fixed_schedule_keeps_the_last_step_and_its_snapshots(shared_data: Path, tmp_path: Path) -> None:
    """Without validation scenes nothing is chosen: model.pt is the last step, snapshots are the named steps."""
    config = _config(shared_data, validation=[], steps=6, snapshots=[3], mrae_weight=1.0, scene_weights="pixels")
    result = train(config, tmp_path / "run", progress=False)
    assert result.best_step == result.steps_run == 6 and not result.stopped_early
    final, snapshot = load_checkpoint(tmp_path / "run" / "model.pt"), load_checkpoint(tmp_path / "run" / "model-3.pt")
    assert final.card.scores["validation_mrae"] is None and final.card.scores["protocol"]["mrae_weight"] == 1.0
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)["model"]
    for name, value in final.model.state_dict().items():
        torch.testing.assert_close(value, state[name], rtol=0, atol=0)
    assert any(not torch.equal(value, snapshot.model.state_dict()[name]) for name, value in final.model.state_dict().items())
    with (tmp_path / "run" / "log.csv").open() as handle:
        assert not any(row["val_mrae"] for row in csv.DictReader(handle))


def test_relative_error_term_enters_the_loss(shared_data: Path, tmp_path: Path) -> None:
    """Same batch, same start: the loss with ``mrae_weight=2`` is SOPC plus twice the relative error."""
    base = _config(shared_data, pool_size=2, switches={"channels": 8, "blocks": 1, "ssrm": False})
    plain, weighted = (_trainer(base.replace(mrae_weight=w), tmp_path / str(w)) for w in (0.0, 2.0))
    replay = _trainer(base, tmp_path / "replay")
    indices = replay.rng.integers(len(replay.pool), size=base.batch_size)
    rgb, target, _ = (torch.from_numpy(a) for a in replay.pool.batch(indices, replay.scenes, replay.renderer, replay.rng))
    with torch.no_grad():
        relative = relative_l1(replay.model(rgb), target).item()
    sopc = plain.train_step()
    assert relative > 0.05
    assert weighted.train_step() == pytest.approx(sopc + 2.0 * relative, rel=1e-5)


def test_moving_average_is_what_is_saved_and_resumes(shared_data: Path, tmp_path: Path) -> None:
    """With ``ema``, model.pt holds the weights' moving average (not the last weights), and a resumed
    run reaches the same average as an uninterrupted one."""
    config = _config(shared_data, validation=[], steps=4, ema=0.5, pool_size=4, switches={"channels": 8, "blocks": 1, "ssrm": False})
    straight = train(config, tmp_path / "straight", progress=False)
    state = torch.load(tmp_path / "straight" / "state.pt", weights_only=True)
    saved = load_checkpoint(straight.checkpoint).model.state_dict()
    name = "head.conv.weight"
    torch.testing.assert_close(saved[name], state["average"][f"module.{name}"], rtol=0, atol=0)
    start = _trainer(config, tmp_path / "start").model.state_dict()[name]
    assert not torch.equal(saved[name], state["model"][name]) and not torch.equal(saved[name], start)
    # the average of 0.5-decay over the 4 steps' weights lies between the start and the last weights
    assert (saved[name] - start).abs().sum() < (state["model"][name] - start).abs().sum()

    interrupted = _trainer(config, tmp_path / "resumed")
    interrupted.train_step(), interrupted.train_step()
    interrupted.save_state()
    resumed = train(config, tmp_path / "resumed", resume=True, progress=False)
    again = load_checkpoint(resumed.checkpoint).model.state_dict()
    for key, value in saved.items():
        torch.testing.assert_close(again[key], value, rtol=0, atol=0)


def test_relative_linear_init_weighs_each_band_s_errors_by_its_truth(shared_data: Path) -> None:
    config = _config(shared_data)
    rgb, spectra = training_pairs(config_scenes(config, config.train), renderer_for(config))
    model = build_model("compact", 31, channels=8, blocks=1, scales=(8,))
    weights = linear_init(model, rgb, spectra, floor=0.02)
    band = 5
    scale = 1.0 / np.maximum(np.abs(spectra[band].astype(np.float64)), 0.02)
    expected = np.linalg.lstsq(rgb.T * scale[:, None], spectra[band] * scale, rcond=None)[0]
    np.testing.assert_allclose(weights[:, band], expected, rtol=1e-6, atol=1e-9)
    plain = np.linalg.lstsq(rgb.T, spectra.T, rcond=None)[0]
    relative_error = lambda w: np.mean(np.abs(w.T @ rgb - spectra) / np.maximum(np.abs(spectra), 0.02))  # noqa: E731
    assert relative_error(weights) < relative_error(plain)
