"""Spectral resampling and RGB rendering of reflectance cubes.

The package's conventions (docs/spectral.md): the spectral axis comes first, a cube ``(B, H, W)`` with
``wavelengths`` ``(B,)`` in nm; :func:`render_rgb` makes white render to ``(1, 1, 1)``, so RGB and reflectance
share units; a camera response is ``(K, 3)``, columns R, G, B. Wavelength grids need not be sorted (AVIRIS'
channel centres are not monotonic); they are sorted internally wherever order matters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from hprn_geo.colour_science import import_colour

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "cie_response", "colour_consistent", "micrometres", "normalised_response", "render_rgb", "resample",
    "response_on_grid",
]

#: How far (nm) a target may lie outside the source range and still be accepted
#: (it is then treated as lying on the range's end).
RANGE_TOLERANCE_NM = 0.5

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
_MAX_FINE_POINTS = 20_000


def resample(cube: np.ndarray, wavelengths: ArrayLike, target: ArrayLike, fwhm: ArrayLike | None = None,
             source_fwhm: ArrayLike | None = None) -> np.ndarray:
    """Resample a cube along its first (spectral) axis onto new band centres.

    With ``fwhm=None`` each target band is the linear interpolation of the source spectrum at its centre. With
    ``fwhm`` it is a Gaussian of that full width at half maximum integrated against the piecewise-linear source
    spectrum, renormalised over the source range (a constant stays exactly constant); ``source_fwhm`` narrows
    the Gaussian to ``sqrt(fwhm**2 - source_fwhm**2)``, linear interpolation where that is zero.

    Args:
        cube: ``(B, ...)`` values, spectral axis first.
        wavelengths: ``(B,)`` source band centres, nm.
        target: ``(T,)`` target band centres, nm, within the source range.
        fwhm: ``(T,)`` (or a scalar) target band widths, nm, or None.
        source_fwhm: ``(B,)`` (or a scalar) source band widths, nm, or None.

    Returns:
        ``(T, ...)`` array, float64 for float64 input and float32 otherwise.

    Raises:
        ValueError: a target lies outside the source range (by more than
            ``RANGE_TOLERANCE_NM``), or shapes do not match.
    """
    cube = np.asarray(cube)
    source = _as_grid(wavelengths, "wavelengths")
    centres = _as_grid(target, "target")
    if cube.shape[0] != source.size:
        raise ValueError(f"cube has {cube.shape[0]} bands but wavelengths has {source.size}")
    _check_range(source, centres)
    if fwhm is None:
        weights = _interpolation_matrix(source, centres).toarray()
    else:
        widths = _gaussian_sigmas(source, centres, fwhm, source_fwhm)
        weights = _gaussian_weights(source, centres, widths)
    dtype = np.float64 if cube.dtype == np.float64 else np.float32
    flat = cube.reshape(source.size, -1).astype(dtype, copy=False)
    return (weights.astype(dtype) @ flat).reshape((centres.size, *cube.shape[1:]))


def render_rgb(cube: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Render a reflectance cube to RGB through a camera response.

    Each response column is normalised to sum to 1 over the cube's bands, so a perfect white reflector renders
    to exactly (1, 1, 1). The response must already be on the cube's grid (see :func:`response_on_grid`); on an
    irregular grid, fold band widths into it.

    Args:
        cube: ``(B, H, W)`` reflectance.
        response: ``(B, C)`` non-negative weights, columns R, G, B (C = 3) and NIR (C = 4, a satellite
            sensor's ``+nir`` input, :mod:`hprn_geo.sensors`).

    Returns:
        ``(C, H, W)`` float32.

    Raises:
        ValueError: shapes do not match, or a channel has no sensitivity over the cube's bands.
    """
    response = np.asarray(response, dtype=np.float64)
    if cube.ndim != 3 or response.ndim != 2 or response.shape[0] != cube.shape[0] or response.shape[1] not in (3, 4):
        raise ValueError(f"need a (B, H, W) cube and a (B, 3) or (B, 4) response; got {cube.shape} and {response.shape}")
    weights = normalised_response(response).astype(np.float32)
    flat = cube.reshape(cube.shape[0], -1).astype(np.float32, copy=False)
    return (weights @ flat).reshape(response.shape[1], *cube.shape[1:])


def normalised_response(response: ArrayLike) -> np.ndarray:
    """A camera response as the ``(3, B)`` matrix ``R`` that :func:`render_rgb` applies: ``rgb = R @ spectrum``.

    Args:
        response: ``(B, C)`` non-negative weights on a cube's grid, columns R, G, B for a camera
            (any C band responses work the same).

    Returns:
        ``(C, B)`` float64, one row per channel, each summing to 1 (a white reflector gives 1).

    Raises:
        ValueError: a channel has no sensitivity over the grid (its column sums to 0 or less).
    """
    response = np.asarray(response, dtype=np.float64)
    totals = response.sum(axis=0)
    if np.any(totals <= 0):
        names = "RGB" if totals.size == 3 else [str(i + 1) for i in range(totals.size)]
        dead = [name for name, total in zip(names, totals, strict=True) if total <= 0]
        raise ValueError(f"channel(s) {', '.join(dead)} have no sensitivity over the cube's bands")
    return (response / totals).T


def colour_consistent(spectra: np.ndarray, rgb: np.ndarray, response: ArrayLike, axis: int = 0) -> np.ndarray:
    """Correct spectra by the smallest change that makes them render back to ``rgb`` exactly.

    Each spectrum ``s`` becomes ``s + R^T (R R^T)^-1 (c - R s)``: its metameric black (the part ``R`` does not
    see) is kept and its fundamental metamer is replaced by the one of ``c``, so ``R s' = c`` with the smallest
    (L2) change. Nothing is clipped. Reference: Y.-T. Lin and G. D. Finlayson, "Physically plausible spectral
    reconstruction", Sensors 20(21), 6399 (2020).

    Args:
        spectra: ``(..., B, ...)`` values with the spectral axis at ``axis``.
        rgb: ``(..., C, ...)`` what each spectrum must render to, the shape of ``spectra`` but ``C`` at ``axis``.
        response: ``(C, B)`` ``R``, rows R, G, B (and NIR, C = 4), as :func:`normalised_response` gives (or one-hot
            rows, to make C of the bands equal the input); rank C.
        axis: the spectral (and colour) axis.

    Returns:
        Corrected spectra, the shape of ``spectra``; float32 unless ``spectra`` is float64 (computed in float64).

    Raises:
        ValueError: shapes do not match, or ``R R^T`` is singular.
    """
    matrix = np.asarray(response, dtype=np.float64)
    spectra, rgb = np.moveaxis(np.asarray(spectra), axis, -1), np.moveaxis(np.asarray(rgb), axis, -1)
    channels = matrix.shape[0] if matrix.ndim == 2 else 0
    if channels not in (3, 4) or spectra.shape[-1] != matrix.shape[1] or rgb.shape != (*spectra.shape[:-1], channels):
        raise ValueError(f"need a (3 or 4, B) response and spectra/rgb with B/its rows on axis {axis}; got "
                         f"{matrix.shape}, {np.moveaxis(spectra, -1, axis).shape} and {np.moveaxis(rgb, -1, axis).shape}")
    gram = matrix @ matrix.T
    if np.linalg.matrix_rank(gram) < channels:
        raise ValueError("the response's rows are linearly dependent; no unique projection exists")
    lift = np.linalg.solve(gram, matrix).T  # (B, C) = R^T (R R^T)^-1
    values = spectra.astype(np.float64)
    values += (rgb - values @ matrix.T) @ lift.T
    dtype = np.float64 if spectra.dtype == np.float64 else np.float32
    return np.moveaxis(values.astype(dtype, copy=False), -1, axis)


def response_on_grid(wavelengths_src: ArrayLike, response_src: ArrayLike, target: ArrayLike) -> np.ndarray:
    """Linearly interpolate a camera (or any band) response onto another wavelength grid.

    Args:
        wavelengths_src: ``(K,)`` wavelengths of the response, nm.
        response_src: ``(K, C)`` response, one column per channel (R, G, B for a camera).
        target: ``(B,)`` wavelengths to sample at (a cube's grid), nm.

    Returns:
        ``(B, C)`` float64; zero outside the response's wavelength range.
    """
    source = _as_grid(wavelengths_src, "wavelengths_src")
    values = np.asarray(response_src, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != source.size:
        raise ValueError(f"response must be ({source.size}, channels), got {values.shape}")
    order = np.argsort(source, kind="stable")
    grid = _as_grid(target, "target")
    columns = [np.interp(grid, source[order], values[order, i], left=0.0, right=0.0) for i in range(values.shape[1])]
    return np.stack(columns, axis=1)


def cie_response(target: ArrayLike, observer: str = "CIE 1964 10 Degree Standard Observer",
                 illuminant: str = "D65") -> np.ndarray:
    """Linear-sRGB channel sensitivities built from the CIE colour-matching functions.

    The observer's colour-matching functions (``colour.MSDS_CMFS``) weighted by the illuminant's spectrum
    (``colour.SDS_ILLUMINANTS``), converted from XYZ to linear sRGB, clipped at 0 (negative lobes cannot be built
    as a sensor) and interpolated onto ``target`` (0 outside the CMFs' range). Scale is arbitrary.

    Args:
        target: ``(B,)`` wavelengths, nm.
        observer: a key of ``colour.MSDS_CMFS``.
        illuminant: a key of ``colour.SDS_ILLUMINANTS``.

    Returns:
        ``(B, 3)`` float64, columns R, G, B.
    """
    colour = import_colour()
    cmfs = colour.MSDS_CMFS[observer]
    light = colour.SDS_ILLUMINANTS[illuminant].copy().align(cmfs.shape)
    xyz = cmfs.values * light.values[:, None]
    rgb = xyz @ np.asarray(colour.models.RGB_COLOURSPACE_sRGB.matrix_XYZ_to_RGB).T
    return response_on_grid(cmfs.wavelengths, np.clip(rgb, 0.0, None), target)


def _as_grid(values: ArrayLike, name: str) -> np.ndarray:
    grid = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite wavelengths")
    return grid


def _check_range(source: np.ndarray, centres: np.ndarray) -> None:
    low, high = source.min(), source.max()
    outside = (centres < low - RANGE_TOLERANCE_NM) | (centres > high + RANGE_TOLERANCE_NM)
    if np.any(outside):
        raise ValueError(f"target wavelengths {centres[outside].min():g}-{centres[outside].max():g} nm lie outside "
                         f"the source range {low:g}-{high:g} nm")


def _interpolation_matrix(source: np.ndarray, points: np.ndarray) -> sparse.csr_matrix:
    """``(P, B)`` sparse weights of linear interpolation at ``points`` (clipped to the range)."""
    from scipy import sparse  # on first use: scipy costs `hprn-geo models` 0.24 s

    if source.size == 1:
        return sparse.csr_matrix(np.ones((points.size, 1)))
    order = np.argsort(source, kind="stable")
    ordered = source[order]
    points = np.clip(points, ordered[0], ordered[-1])
    left = np.clip(np.searchsorted(ordered, points, side="right") - 1, 0, source.size - 2)
    gap = ordered[left + 1] - ordered[left]
    fraction = np.divide(points - ordered[left], gap, out=np.full_like(gap, 0.5), where=gap > 0)
    rows = np.tile(np.arange(points.size), 2)
    columns = np.concatenate([order[left], order[left + 1]])
    values = np.concatenate([1.0 - fraction, fraction])
    return sparse.csr_matrix((values, (rows, columns)), shape=(points.size, source.size))


def _gaussian_sigmas(source: np.ndarray, centres: np.ndarray, fwhm: ArrayLike,
                     source_fwhm: ArrayLike | None) -> np.ndarray:
    """``(T,)`` standard deviations (nm) of the Gaussians still to apply."""
    target_sigma = np.broadcast_to(np.asarray(fwhm, dtype=np.float64), centres.shape) * _FWHM_TO_SIGMA
    if np.any(~np.isfinite(target_sigma)) or np.any(target_sigma < 0):
        raise ValueError("fwhm must be finite and non-negative")
    if source_fwhm is None:
        return target_sigma
    widths = np.broadcast_to(np.asarray(source_fwhm, dtype=np.float64), source.shape)
    order = np.argsort(source, kind="stable")
    source_sigma = np.interp(centres, source[order], widths[order]) * _FWHM_TO_SIGMA
    return np.sqrt(np.clip(target_sigma**2 - source_sigma**2, 0.0, None))


def _gaussian_weights(source: np.ndarray, centres: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """``(T, B)`` weights: Gaussians integrated against the piecewise-linear source spectrum.

    A trapezoid sum on a uniform fine grid (a quarter of the smaller of the source spacing and the narrowest
    sigma, at most ``_MAX_FINE_POINTS`` points) through the linear-interpolation weights, each row renormalised
    to sum to 1. Bands narrower than a grid step are linearly interpolated instead.
    """
    low, high = source.min(), source.max()
    if high == low:
        return np.full((centres.size, source.size), 1.0 / source.size)
    spacing = np.diff(np.unique(source))
    finest = min(spacing.min(initial=high - low), sigmas[sigmas > 0].min(initial=np.inf))
    count = int(np.clip(np.ceil(4.0 * (high - low) / max(finest, 1e-9)), 2, _MAX_FINE_POINTS))
    fine = np.linspace(low, high, count)
    step = fine[1] - fine[0]
    trapezoid = np.full(count, step)
    trapezoid[[0, -1]] = step / 2.0
    narrow = sigmas < step
    safe = np.where(narrow, 1.0, sigmas)[:, None]
    kernel = np.exp(-0.5 * ((fine[None, :] - centres[:, None]) / safe) ** 2) * trapezoid
    weights = np.asarray((_interpolation_matrix(source, fine).T @ kernel.T).T)
    weights[narrow] = _interpolation_matrix(source, centres[narrow]).toarray()
    return weights / weights.sum(axis=1, keepdims=True)


def micrometres(nm: float) -> float:
    """nm -> micrometres, as STAC and openEO want wavelengths (rounded to 1 pm: ``450.0 -> 0.45``)."""
    return round(float(nm) / 1000.0, 6)
