"""Error metrics between a reconstructed and a reference hyperspectral cube (docs/metrics.md).

Every function takes ``pred`` first and ``target`` second, numpy arrays with the spectral axis first:
``(B, H, W)`` cubes, or ``(B, N)`` flattened spectra for the metrics that do not depend on where a pixel
lies (not :func:`ssim` nor :func:`per_pixel_mrae`). Inputs are converted to float64 first; NaN propagates,
so mask nodata before measuring. Bad input raises :class:`MetricInputError` (a ``ValueError``).
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from hprn_geo.errors import MetricInputError

__all__ = [
    "MetricInputError", "mrae", "per_band_mrae", "per_pixel_mrae", "psnr", "rmse", "sam", "spectral_metrics", "ssim",
    "ssim_window",
]

SSIM_WINDOW = 7
"""Side of scikit-image's default (uniform, not Gaussian) SSIM window."""

SSIM_MIN_WINDOW = 3
"""Smallest SSIM window used for images smaller than :data:`SSIM_WINDOW`."""


def _as_pair(pred: np.ndarray, target: np.ndarray, *, allow_flat: bool) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64, checked to share a ``(B, H, W)`` (or ``(B, N)``) shape."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise MetricInputError(f"pred and target shapes differ: pred {pred.shape}, target {target.shape}")
    allowed = (2, 3) if allow_flat else (3,)
    if pred.ndim not in allowed:
        layouts = "(B, H, W) or (B, N)" if allow_flat else "(B, H, W)"
        raise MetricInputError(f"expected arrays shaped {layouts}, got shape {pred.shape}")
    if pred.size == 0:
        raise MetricInputError(f"arrays are empty: shape {pred.shape}")
    return pred, target


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise MetricInputError(f"{name} must be positive, got {value!r}")


def _relative_errors(pred: np.ndarray, target: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """``|p - g| / |g|`` per element (NaN where ``|g| < eps``) and the mask of kept elements."""
    _check_positive("eps", eps)
    magnitude = np.abs(target)
    kept = magnitude >= eps
    relative = np.full(target.shape, np.nan)
    relative[kept] = np.abs(pred[kept] - target[kept]) / magnitude[kept]
    return relative, kept


def mrae(pred: np.ndarray, target: np.ndarray, eps: float = 1e-3) -> float:
    """Mean relative absolute error, as in the NTIRE spectral reconstruction challenges.

    ``mean(|pred - target| / |target|)`` over the elements whose reference magnitude ``|target|`` is at least
    ``eps``; the others are left out of the mean, not clamped (docs/metrics.md says why). Report ``eps``
    with the score: it changes which elements count.

    Args:
        pred: reconstruction, shape ``(B, H, W)`` or ``(B, N)``.
        target: reference, same shape as ``pred``.
        eps: smallest reference magnitude that is kept (must be > 0).

    Returns:
        The MRAE as a fraction (0.05 means 5 %).

    Raises:
        MetricInputError: shapes differ, ``eps <= 0``, or every element has ``|target| < eps``.
    """
    pred, target = _as_pair(pred, target, allow_flat=True)
    relative, kept = _relative_errors(pred, target, eps)
    if not kept.any():
        raise MetricInputError(f"no element has |target| >= eps={eps}: MRAE is undefined for this reference")
    return float(relative[kept].mean())


def per_pixel_mrae(pred: np.ndarray, target: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """MRAE of each pixel's spectrum, for error maps.

    Each pixel's value is the mean of ``|pred - target| / |target|`` over its bands with ``|target| >= eps``
    (see :func:`mrae`); NaN where no band is kept. Its mean can differ from :func:`mrae`, which averages elements.

    Args:
        pred: reconstruction, shape ``(B, H, W)``.
        target: reference, same shape.
        eps: smallest reference magnitude that is kept (must be > 0).

    Returns:
        float64 array of shape ``(H, W)``.
    """
    pred, target = _as_pair(pred, target, allow_flat=False)
    relative, kept = _relative_errors(pred, target, eps)
    return _nanmean_over(relative, kept, axis=0)


def per_band_mrae(pred: np.ndarray, target: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """MRAE of each band over its pixels, for error-versus-wavelength plots.

    Each band's value is the mean of ``|pred - target| / |target|`` over its pixels with ``|target| >= eps``
    (see :func:`mrae`); NaN where no pixel is kept.

    Args:
        pred: reconstruction, shape ``(B, H, W)`` or ``(B, N)``.
        target: reference, same shape.
        eps: smallest reference magnitude that is kept (must be > 0).

    Returns:
        float64 array of shape ``(B,)``.
    """
    pred, target = _as_pair(pred, target, allow_flat=True)
    relative, kept = _relative_errors(pred, target, eps)
    bands = pred.shape[0]
    return _nanmean_over(relative.reshape(bands, -1), kept.reshape(bands, -1), axis=1)


def _nanmean_over(values: np.ndarray, kept: np.ndarray, axis: int) -> np.ndarray:
    """Mean of ``values`` where ``kept`` along ``axis``; NaN where nothing is kept."""
    counts = kept.sum(axis=axis)
    totals = np.where(kept, values, 0.0).sum(axis=axis)
    means = np.full(counts.shape, np.nan)
    np.divide(totals, counts, out=means, where=counts > 0)
    return means


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error, ``sqrt(mean((pred - target) ** 2))`` over all elements.

    Args:
        pred: reconstruction, shape ``(B, H, W)`` or ``(B, N)``.
        target: reference, same shape.

    Returns:
        The RMSE, in the units of the inputs.
    """
    pred, target = _as_pair(pred, target, allow_flat=True)
    return float(np.sqrt(np.mean((pred - target) ** 2)))


def sam(pred: np.ndarray, target: np.ndarray) -> float:
    """Spectral angle mapper: mean angle between predicted and reference spectra, in degrees.

    For each pixel, the angle ``arccos(<p, g> / (|p| |g|))`` between the spectra along axis 0, averaged over
    pixels; it ignores brightness (``sam(2 * g, g) == 0``). Computed as ``2 * arctan2(|p^ - g^|, |p^ + g^|)``
    of the unit spectra, the same angle but exact near 0 degrees. Pixels where either spectrum is all 0 have
    no direction and are left out of the mean.

    Args:
        pred: reconstruction, shape ``(B, H, W)`` or ``(B, N)``.
        target: reference, same shape.

    Returns:
        The mean spectral angle in degrees, in ``[0, 180]``.

    Raises:
        MetricInputError: shapes differ, or every pixel has a zero spectrum in ``pred`` or ``target``.
    """
    pred, target = _as_pair(pred, target, allow_flat=True)
    pred, target = pred.reshape(pred.shape[0], -1), target.reshape(pred.shape[0], -1)
    pred_norm = np.linalg.norm(pred, axis=0)
    target_norm = np.linalg.norm(target, axis=0)
    kept = (pred_norm > 0) & (target_norm > 0)
    if not kept.any():
        raise MetricInputError("every pixel has a zero spectrum in pred or target: SAM is undefined")
    pred_unit = pred[:, kept] / pred_norm[kept]
    target_unit = target[:, kept] / target_norm[kept]
    difference = np.linalg.norm(pred_unit - target_unit, axis=0)
    total = np.linalg.norm(pred_unit + target_unit, axis=0)
    return float(np.degrees(2.0 * np.arctan2(difference, total)).mean())


def psnr(pred: np.ndarray, target: np.ndarray, data_range: float) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range ** 2 / MSE)`` over all elements.

    One MSE over the whole cube (not a mean of per-band PSNRs), as scikit-image's ``peak_signal_noise_ratio``.

    Args:
        pred: reconstruction, shape ``(B, H, W)`` or ``(B, N)``.
        target: reference, same shape.
        data_range: the span of possible values (1.0 for reflectance in ``[0, 1]``), must be > 0.

    Returns:
        The PSNR in dB; ``inf`` when the arrays are identical.
    """
    pred, target = _as_pair(pred, target, allow_flat=True)
    _check_positive("data_range", data_range)
    mse = np.mean((pred - target) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def ssim_window(height: int, width: int) -> int:
    """Side of the SSIM window used for an ``height x width`` image.

    scikit-image's default of 7 when it fits; otherwise the largest odd size that fits in the smaller side,
    at least 3.

    Raises:
        MetricInputError: the image is smaller than 3 pixels on a side.
    """
    side = min(height, width, SSIM_WINDOW)
    if side % 2 == 0:
        side -= 1
    if side < SSIM_MIN_WINDOW:
        raise MetricInputError(f"SSIM needs images of at least {SSIM_MIN_WINDOW}x{SSIM_MIN_WINDOW} pixels, "
                               f"got {height}x{width}")
    return side


def ssim(pred: np.ndarray, target: np.ndarray, data_range: float) -> float:
    """Structural similarity, computed band by band and averaged over bands.

    Each band is scored with scikit-image's ``structural_similarity`` with its defaults (uniform 7x7 window,
    sample covariance, K1 = 0.01, K2 = 0.03) and the given ``data_range``. Smaller images use a smaller window
    (:func:`ssim_window`), whose scores are not comparable with 7x7 ones.

    Args:
        pred: reconstruction, shape ``(B, H, W)`` (not ``(B, N)``: SSIM needs neighbourhoods).
        target: reference, same shape.
        data_range: the span of possible values (1.0 for reflectance in ``[0, 1]``), must be > 0.

    Returns:
        The mean of the per-band SSIMs (1.0 for identical cubes).

    Raises:
        MetricInputError: shapes differ, not ``(B, H, W)``, ``data_range <= 0`` or an image smaller than 3x3.
    """
    pred, target = _as_pair(pred, target, allow_flat=False)
    _check_positive("data_range", data_range)
    window = ssim_window(*pred.shape[1:])
    scores = [structural_similarity(p, t, win_size=window, data_range=data_range) for p, t in zip(pred, target)]
    return float(np.mean(scores))


def spectral_metrics(pred: np.ndarray, target: np.ndarray, data_range: float = 1.0) -> dict[str, float]:
    """All five metrics of a reconstruction against its reference.

    Args:
        pred: reconstruction, shape ``(B, H, W)``.
        target: reference, same shape.
        data_range: the span of possible values, for PSNR and SSIM.

    Returns:
        ``{"mrae": ..., "rmse": ..., "sam": ..., "psnr": ..., "ssim": ...}``, MRAE with its default ``eps``
        and SAM in degrees.
    """
    pred, target = _as_pair(pred, target, allow_flat=False)
    return {
        "mrae": mrae(pred, target),
        "rmse": rmse(pred, target),
        "sam": sam(pred, target),
        "psnr": psnr(pred, target, data_range),
        "ssim": ssim(pred, target, data_range),
    }
