"""The torch SLIC prior (GPU fast path) against scikit-image, on crops of a real image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.color import rgb2lab
from skimage.segmentation import slic as skimage_slic
from skimage.util import regular_grid

from hprn_geo.model import PAPER_SCALES, build_model, semantic_prior, slic_labels
from hprn_geo.model.fastslic import (
    connected_components,
    consecutive,
    grid_seeds,
    rgb_to_lab,
    torch_semantic_prior,
)

CROPS = [(0, 0, 128), (160, 106, 128), (320, 212, 128), (480, 0, 128), (300, 20, 64), (540, 270, 64)]
"""(row, column, side) of the Pavia crops the agreement is measured on."""


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these tensors are small, and a busy machine makes each
    multi-threaded op wait for a scheduler slice (170 s instead of 6 s for this file
    on 2 loaded cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labellings of the same pixels (1 = the same partition)."""
    a = np.unique(a.ravel(), return_inverse=True)[1].ravel()
    b = np.unique(b.ravel(), return_inverse=True)[1].ravel()
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / (a.size * (a.size - 1) / 2)
    top = (rows + cols) / 2 - expected
    return 1.0 if top == 0 else (index - expected) / top


def _crop(pavia_rgb: np.ndarray, row: int, col: int, side: int) -> np.ndarray:
    return np.ascontiguousarray(pavia_rgb[:, row : row + side, col : col + side])


def _prior(rgb: np.ndarray, **kwargs) -> np.ndarray:
    return torch_semantic_prior(torch.from_numpy(rgb)[None], **kwargs)[0].numpy()


def test_lab_equals_skimage_rgb2lab(pavia_rgb: np.ndarray) -> None:
    rgb = np.concatenate([_crop(pavia_rgb, 0, 0, 64), np.random.default_rng(0).random((3, 64, 64), np.float32)], 1)
    expected = rgb2lab(np.moveaxis(rgb.astype(np.float64), 0, -1))
    for dtype, tolerance in ((torch.float32, 1e-4), (torch.float64, 1e-12)):  # measured: 5e-5 and 1.1e-13
        lab = rgb_to_lab(torch.from_numpy(rgb)[None].to(dtype))[0].permute(1, 2, 0).double().numpy()
        assert np.abs(lab - expected).max() < tolerance, dtype


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (3, 2), (5, 7), (7, 300), (64, 48), (100, 128)])
@pytest.mark.parametrize("k", [1, 8, 20])
def test_seeds_sit_on_skimage_regular_grid(shape: tuple[int, int], k: int) -> None:
    ys, xs, _, _ = grid_seeds(*shape, k)
    marks = np.zeros((1, *shape), bool)
    marks[regular_grid(marks.shape, k)] = True
    expected = np.argwhere(marks[0])  # row-major, as the centres
    assert np.array_equal(torch.stack([ys, xs], 1).numpy(), expected)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (3, 2), (1, 9), (13, 17), (64, 48)])
def test_shapes_dtypes_and_consecutive_labels_from_zero(pavia_rgb: np.ndarray, shape: tuple[int, int]) -> None:
    h, w = shape
    rgb = torch.from_numpy(np.stack([pavia_rgb[:, :h, :w], pavia_rgb[:, 200 : 200 + h, 100 : 100 + w]]))
    for connectivity in (False, True):
        labels = torch_semantic_prior(rgb, PAPER_SCALES, connectivity=connectivity)
        assert labels.shape == (2, len(PAPER_SCALES), h, w) and labels.dtype == torch.int64
        for m in labels.flatten(0, 1):
            assert torch.equal(torch.unique(m), torch.arange(int(m.max()) + 1))  # 0, 1, ..., no gaps
            assert int(m.max()) < h * w


def test_empty_batch_and_constant_image() -> None:
    assert torch_semantic_prior(torch.zeros(0, 3, 8, 8)).shape == (0, 4, 8, 8)
    labels = torch_semantic_prior(torch.full((1, 3, 40, 40), 0.3), (8,))[0, 0]
    assert 2 <= int(labels.max()) + 1 <= 16  # position alone splits a flat image


def test_deterministic_and_independent_of_the_batch(pavia_rgb: np.ndarray) -> None:
    rgb = torch.from_numpy(np.stack([_crop(pavia_rgb, 0, 0, 96), _crop(pavia_rgb, 300, 100, 96)]))
    batch = torch_semantic_prior(rgb)
    assert torch.equal(batch, torch_semantic_prior(rgb))
    assert torch.equal(batch[1:], torch_semantic_prior(rgb[1:]))


def test_values_outside_unit_range_are_clipped(out_of_range_rgb: np.ndarray) -> None:
    clipped = np.clip(out_of_range_rgb, 0.0, 1.0)
    assert np.array_equal(_prior(out_of_range_rgb), _prior(clipped))


def test_number_of_segments_is_near_what_was_asked(pavia_rgb: np.ndarray) -> None:
    for row, col, side in CROPS:
        labels = _prior(_crop(pavia_rgb, row, col, side))
        for m, k in zip(labels, PAPER_SCALES):
            assert 0.5 * k <= m.max() + 1 <= 1.5 * k


EXACT_CROPS = [(0, 0, 1, 2), (7, 3, 2, 1), (20, 30, 5, 3), (33, 44, 3, 40), (200, 200, 40, 3), (100, 50, 17, 31),
               (300, 20, 64, 64), (540, 270, 64, 64), (350, 80, 99, 101), (0, 0, 128, 128), (160, 106, 128, 128),
               (320, 212, 128, 128), (480, 0, 128, 128), (300, 20, 256, 257)]
"""(row, column, height, width) of the 14 Pavia crops compared with scikit-image pixel for pixel."""


@pytest.mark.parametrize(("dtype", "share"), [(torch.float64, 0.0), (torch.float32, 1e-4)])
def test_equals_skimage_slic_without_its_connectivity_step(pavia_rgb: np.ndarray, dtype: torch.dtype,
                                                           share: float) -> None:
    """Every label of every scale in float64; in float32, near-ties of the distance decided in float32 move
    17 of the 256 x 257 crop's 263,168 label pixels (0 on the other 13 crops)."""
    for row, col, height, width in EXACT_CROPS:
        rgb = np.ascontiguousarray(pavia_rgb[:, row : row + height, col : col + width])
        image = np.clip(np.moveaxis(rgb.astype(np.float64), 0, -1), 0, 1)
        labels = _prior(rgb, dtype=dtype)
        refs = [skimage_slic(image, k, compactness=10.0, start_label=0, channel_axis=-1, enforce_connectivity=False)
                for k in PAPER_SCALES]
        refs = [np.unique(ref, return_inverse=True)[1].reshape(ref.shape) for ref in refs]  # consecutive, same order
        assert (labels != np.stack(refs)).mean() <= share, (row, col, height, width)


def test_agreement_with_skimage_labels(pavia_rgb: np.ndarray) -> None:
    """Adjusted Rand index against ``slic_labels`` (which enforces connectivity).

    Measured on these 6 crops x 4 scales (docs/gpu.md): mean 0.67 (lowest 0.37)
    without the clean-up, 0.83 (lowest 0.51) with it; scikit-image against
    itself, on the same crops plus noise of 1/255, scores 0.90 (lowest 0.59).
    """
    scores: dict[bool, list[float]] = {False: [], True: []}
    for row, col, side in CROPS:
        rgb = _crop(pavia_rgb, row, col, side)
        ref = slic_labels(rgb)
        for connectivity in scores:
            labels = _prior(rgb, connectivity=connectivity)
            scores[connectivity] += [adjusted_rand_index(r, m) for r, m in zip(ref, labels)]
    plain, connected = np.array(scores[False]), np.array(scores[True])
    assert plain.mean() >= 0.6 and plain.min() >= 0.3
    assert connected.mean() >= 0.75 and connected.min() >= 0.45
    assert connected.mean() > plain.mean() + 0.05


def test_connectivity_clean_up_gives_connected_segments(pavia_rgb: np.ndarray) -> None:
    labels = _prior(_crop(pavia_rgb, 160, 106, 128), connectivity=True)
    for m in labels:
        assert all(ndimage.label(m == v)[1] == 1 for v in range(m.max() + 1))


def test_connected_components_match_scipy() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, (2, 23, 31))
    roots = connected_components(torch.from_numpy(labels)).numpy()
    for image, root in zip(labels, roots):
        pieces = np.zeros(image.shape, np.int64)
        offset = 0
        for v in np.unique(image):
            found, count = ndimage.label(image == v)
            pieces += np.where(found > 0, found + offset, 0)
            offset += count
        assert adjusted_rand_index(pieces, root) == 1.0
        assert np.all(root.ravel() <= np.arange(root.size))  # named by their first pixel


def test_consecutive_keeps_order() -> None:
    labels = torch.tensor([[5, 5, 2, 9], [0, 3, 3, 0]])
    assert consecutive(labels, 10).tolist() == [[1, 1, 0, 2], [0, 1, 1, 0]]


def test_semantic_prior_dispatches_by_method(pavia_rgb: np.ndarray) -> None:
    rgb = torch.from_numpy(_crop(pavia_rgb, 0, 0, 40))[None]
    assert torch.equal(semantic_prior(rgb, (8, 12), method="torch"), torch_semantic_prior(rgb, (8, 12)))
    connected = semantic_prior(rgb, (8, 12), method="torch-connected")
    assert torch.equal(connected, torch_semantic_prior(rgb, (8, 12), connectivity=True))
    assert torch.equal(semantic_prior(rgb, (8,)), torch.from_numpy(slic_labels(rgb[0].numpy(), (8,)))[None])
    with pytest.raises(ValueError, match="unknown prior method"):
        semantic_prior(rgb, method="cuda")


def test_hprn_runs_on_torch_labels(pavia_rgb: np.ndarray) -> None:
    torch.manual_seed(0)
    model = build_model("compact", 8, channels=16, blocks=1).eval()
    rgb = torch.from_numpy(np.stack([_crop(pavia_rgb, 0, 0, 72), _crop(pavia_rgb, 300, 100, 72)]))
    with torch.inference_mode():
        labels = model.prior(rgb, method="torch")
        out = model(rgb, labels)
        model.prior_method = "torch-connected"
        again = model(rgb)  # labels=None: the model's prior_method
    assert out.shape == (2, 8, 72, 72) and torch.isfinite(out).all() and torch.isfinite(again).all()
    assert model.prior(rgb, method="skimage").shape == labels.shape


@pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")
def test_predictor_takes_the_torch_prior(pavia_rgb: np.ndarray, tiny_checkpoint) -> None:
    from hprn_geo.predict import PredictOptions, Predictor
    from hprn_geo.registry import load_checkpoint

    checkpoint = load_checkpoint(tiny_checkpoint)
    rgb = _crop(pavia_rgb, 100, 100, 96)
    cube = Predictor(checkpoint, PredictOptions(tile=64, overlap=16, device="cpu", prior="torch")).predict_array(rgb)
    assert cube.shape == (8, 96, 96) and np.isfinite(cube).all()
    with pytest.raises(ValueError, match="prior must be .auto. or one of"):
        Predictor(checkpoint, PredictOptions(device="cpu", prior="gpu"))


@pytest.mark.filterwarnings("ignore::hprn_geo.errors.UntrainedModelWarning")
def test_predictor_main_thread_prior_path_equals_worker_path(
    pavia_rgb: np.ndarray, tiny_checkpoint
) -> None:
    """The CUDA code path (prior in the main thread, on the batch on the device), run on the CPU."""
    from hprn_geo.predict import PredictOptions, Predictor
    from hprn_geo.registry import load_checkpoint

    checkpoint = load_checkpoint(tiny_checkpoint)
    rgb = _crop(pavia_rgb, 100, 100, 80)
    workers = Predictor(checkpoint, PredictOptions(tile=64, overlap=16, device="cpu", prior="torch")).predict_array(rgb)
    main = Predictor(checkpoint, PredictOptions(tile=64, overlap=16, device="cpu", prior="torch"))
    main._prior_on_device = True
    assert main._worker_prior(torch.zeros(1, 3, 8, 8)) is None
    assert np.array_equal(main.predict_array(rgb), workers) and main.times.prior > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the fast path's target)")
def test_cuda_labels_agree_with_cpu_and_repeat(pavia_rgb: np.ndarray) -> None:
    rgb = torch.from_numpy(np.stack([_crop(pavia_rgb, r, c, s) for r, c, s in CROPS[:4]]))
    for connectivity in (False, True):
        cpu = torch_semantic_prior(rgb, connectivity=connectivity)
        gpu = torch_semantic_prior(rgb.cuda(), connectivity=connectivity)
        assert gpu.is_cuda and torch.equal(gpu, torch_semantic_prior(rgb.cuda(), connectivity=connectivity))
        scores = [adjusted_rand_index(a, b) for a, b in zip(cpu.flatten(0, 1).numpy(), gpu.cpu().flatten(0, 1).numpy())]
        assert min(scores) >= 0.99
