"""SLIC superpixels in PyTorch: the semantic prior on any device, batched over tiles.

The same clustering as scikit-image's ``slic`` (0.26) with the prior's settings (``compactness=10``,
``max_num_iter=10``, ``sigma=0``, no mask, ``start_label=0``), step by step, in tensor operations, so it
runs where its input lives and for a whole batch of tiles at once. How each step follows scikit-image,
and timings, are in ``docs/gpu.md``.

What differs from scikit-image: connectivity. By default this module stops after the k-means, so a
label may cover several disconnected pieces (harmless for SSRM, which only sorts pixels by label);
``connectivity=True`` adds a cheap clean-up in the same spirit (:func:`enforce_connectivity`), closer
to scikit-image but not identical. Before that step the labels equal scikit-image's
``slic(..., enforce_connectivity=False)`` pixel for pixel on the test crops in float64.

Memory: at most about ``3 x N x K x H x W`` values of ``dtype`` at once, K the centres of the largest scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "COMPACTNESS",
    "D65_WHITE",
    "ITERATIONS",
    "XYZ_FROM_RGB",
    "connected_components",
    "consecutive",
    "enforce_connectivity",
    "grid_seeds",
    "prepare_lab",
    "rgb_to_lab",
    "slic",
    "torch_semantic_prior",
]

XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
"""sRGB (linear) -> CIE XYZ, as ``skimage.color.colorconv.xyz_from_rgb``."""

D65_WHITE = (0.95047, 1.0, 1.08883)
"""CIE XYZ of the D65 white point, 2° observer (scikit-image's default)."""

COMPACTNESS = 10.0
ITERATIONS = 10


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """CIELAB of sRGB images, as ``skimage.color.rgb2lab`` (D65, 2° observer).

    Args:
        rgb: (N, 3, H, W) float sRGB in [0, 1].

    Returns:
        (N, 3, H, W) L*, a*, b* in ``rgb``'s dtype and device.
    """
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    r, g, b = linear.unbind(1)
    xyz = torch.stack([(m0 * r + m1 * g + m2 * b) / white for (m0, m1, m2), white in zip(XYZ_FROM_RGB, D65_WHITE)], 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(0.0) ** (1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f.unbind(1)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)


def _grid_steps(height: int, width: int, n_segments: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(start, step) along y and x of ``skimage.util.regular_grid((1, height, width), n_segments)``."""
    shape = (1, height, width)
    if height * width <= n_segments:
        return (0, 1), (0, 1)
    order = sorted(range(3), key=lambda i: shape[i])  # small dims first, as regular_grid
    dims = [float(shape[i]) for i in order]
    steps = [(height * width / n_segments) ** (1.0 / 3.0)] * 3
    if any(d < s for d, s in zip(dims, steps)):
        for i in range(3):
            steps[i] = dims[i]
            rest = math.prod(dims[i + 1 :])
            steps[i + 1 :] = [(rest / n_segments) ** (1.0 / (2 - i))] * (2 - i) if i < 2 else []
            if all(d >= s for d, s in zip(dims, steps)):
                break
    by_dim = {order[i]: (int(steps[i] // 2), round(steps[i])) for i in range(3)}
    return by_dim[1], by_dim[2]


def grid_seeds(height: int, width: int, n_segments: int) -> tuple[torch.Tensor, torch.Tensor, float, tuple[int, int]]:
    """Initial SLIC centres on scikit-image's regular grid.

    Args:
        height, width: image size.
        n_segments: segments asked for (the grid holds about that many points).

    Returns:
        ``(ys, xs, step, (step_y, step_x))``: (K,) float64 centre rows and
        columns in row-major order; the spatial normalisation S (the largest
        grid step); and the steps that size each centre's search window, which
        scikit-image takes from a regular grid of K points (the number of
        centres actually placed, not the number asked for).
    """
    (y0, sy), (x0, sx) = _grid_steps(height, width, n_segments)
    rows = torch.arange(y0, height, sy, dtype=torch.float64)
    cols = torch.arange(x0, width, sx, dtype=torch.float64)
    ys, xs = torch.meshgrid(rows, cols, indexing="ij")
    (_, window_y), (_, window_x) = _grid_steps(height, width, ys.numel())
    return ys.reshape(-1), xs.reshape(-1), float(max(1, sy, sx)), (window_y, window_x)


def _window_penalty(centres: torch.Tensor, step: int, size: int) -> torch.Tensor:
    """(N, K, size): 0 where a coordinate lies in a centre's ± 2 ``step`` window, inf elsewhere.

    The bounds truncate as scikit-image's ``<Py_ssize_t>`` casts do; a dropped
    centre (at inf) has no window.
    """
    low = torch.floor((centres - 2 * step).clamp_min(0.0))
    high = torch.floor((centres + 2 * step + 1).clamp_max(float(size)))
    coords = torch.arange(size, device=centres.device, dtype=centres.dtype)
    inside = (coords >= low[..., None]) & (coords < high[..., None])
    return torch.zeros_like(inside, dtype=centres.dtype).masked_fill_(~inside, math.inf)


def _assign(
    features: torch.Tensor, centres: torch.Tensor, windows: tuple[torch.Tensor, torch.Tensor],
    inv_step2: float, labels: torch.Tensor, shape: tuple[int, int],
) -> torch.Tensor:
    """New (N, L) labels: nearest centre in colour + position among those whose window holds the pixel."""
    h, w = shape
    coords_y = torch.arange(h, device=features.device, dtype=features.dtype)
    coords_x = torch.arange(w, device=features.device, dtype=features.dtype)
    dy = (centres[:, :, 1, None] - coords_y) ** 2 + windows[0]  # (N, K, H)
    dx = (centres[:, :, 2, None] - coords_x) ** 2 + windows[1]  # (N, K, W)
    dist = (dy[..., :, None] + dx[..., None, :]).mul_(inv_step2).flatten(2)  # (N, K, L)
    colour = (features[:, None, 0] - centres[:, :, 3, None]).square_()
    for c in (1, 2):
        colour += (features[:, None, c] - centres[:, :, 3 + c, None]).square_()
    dist += colour  # summed in scikit-image's order: (dy + dx) / S² + ((dL² + da²) + db²)
    best, nearest = dist.min(dim=1)  # the first (lowest k) of equal minima, as scikit-image
    return torch.where(torch.isfinite(best), nearest, labels)


def _pixel_table(features: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """(N, L, 6): per pixel 1, y, x and its three scaled colours, the rows the centre update sums."""
    n, _, length = features.shape
    h, w = shape
    ys = torch.arange(h, device=features.device, dtype=features.dtype).repeat_interleave(w)
    xs = torch.arange(w, device=features.device, dtype=features.dtype).repeat(h)
    position = torch.stack([torch.ones_like(ys), ys, xs], dim=-1).expand(n, length, 3)
    return torch.cat([position, features.transpose(1, 2)], dim=-1).contiguous()


def _update(table: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """(N, K, 6) centres (count, y, x, L, a, b) as means of their pixels.

    One batched matrix product of the (N, K, L) membership with the pixel table
    (deterministic on every device, unlike ``scatter_add`` on CUDA). A centre
    left without pixels is dropped for good (scikit-image divides 0 by 0): its
    position becomes inf, so no window holds any pixel.
    """
    member = (labels[:, None, :] == torch.arange(k, device=labels.device)[:, None]).to(table.dtype)
    sums = torch.bmm(member, table)  # (N, K, 6)
    count = sums[..., :1]
    means = sums[..., 1:] / count.clamp_min(1.0)
    means[..., :2] = means[..., :2].masked_fill(count == 0, math.inf)
    return torch.cat([count, means], dim=-1)


def slic(
    lab: torch.Tensor,
    n_segments: int,
    compactness: float = COMPACTNESS,
    iterations: int = ITERATIONS,
) -> torch.Tensor:
    """SLIC labels of a batch of CIELAB images at one segment count (no connectivity step).

    Args:
        lab: (N, 3, H, W) float CIELAB (from :func:`rgb_to_lab`); its dtype is
            the working precision.
        n_segments: segments asked for (K); the grid may hold a few more or fewer.
        compactness: weight m of position against colour.
        iterations: assignment rounds (scikit-image runs its 10 to the end).

    Returns:
        (N, H, W) int64 labels 0 .. k - 1 per image, consecutive.
    """
    n, _, h, w = lab.shape
    features = (lab * (1.0 / compactness)).flatten(2)  # (N, 3, L), as scikit-image scales
    ys, xs, step, (step_y, step_x) = grid_seeds(h, w, n_segments)
    k = ys.numel()
    centres = torch.zeros(n, k, 6, dtype=lab.dtype, device=lab.device)  # count, y, x, L, a, b
    centres[:, :, 1] = ys.to(lab)
    centres[:, :, 2] = xs.to(lab)
    labels = torch.zeros(n, h * w, dtype=torch.int64, device=lab.device)
    inv_step2 = 1.0 / (step * step)
    table = _pixel_table(features, (h, w))
    for round_ in range(iterations):
        windows = (_window_penalty(centres[:, :, 1], step_y, h), _window_penalty(centres[:, :, 2], step_x, w))
        labels = _assign(features, centres, windows, inv_step2, labels, (h, w))
        if round_ < iterations - 1:
            centres = _update(table, labels, k)
    return consecutive(labels, k).reshape(n, h, w)


def consecutive(labels: torch.Tensor, k: int) -> torch.Tensor:
    """Renumber (N, L) labels in [0, k) to 0, 1, ... per row, keeping their order."""
    present = torch.zeros(labels.shape[0], k, dtype=torch.bool, device=labels.device)
    present.scatter_(1, labels, True)
    new_ids = torch.cumsum(present, dim=1) - 1
    return new_ids.gather(1, labels)


def _run_min(values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each pixel's minimum of ``values`` over its run of equal ``labels`` along the last axis (N, H, W)."""
    start = torch.ones_like(labels, dtype=torch.bool)
    start[..., 1:] = labels[..., 1:] != labels[..., :-1]
    run = torch.cumsum(start.reshape(-1), 0) - 1
    fill = torch.iinfo(values.dtype).max
    mins = torch.full((run.numel(),), fill, dtype=values.dtype, device=values.device)
    mins.scatter_reduce_(0, run, values.reshape(-1), "amin")  # min: order-free, so deterministic
    return mins[run].view_as(values)


def connected_components(labels: torch.Tensor) -> torch.Tensor:
    """4-connected pieces of equal labels, each named by its first pixel in raster order.

    Alternates row-run and column-run minimum propagation with pointer
    jumping until nothing changes (a few to about 20 rounds on superpixels).

    Args:
        labels: (N, H, W) integer labels.

    Returns:
        (N, H, W) int64: the row-major index (within its image) of the first
        pixel of each pixel's piece.
    """
    n, h, w = labels.shape
    comp = torch.arange(h * w, device=labels.device).view(1, h, w).expand(n, h, w).contiguous()
    columns = labels.transpose(1, 2).contiguous()
    while True:
        new = _run_min(comp, labels)
        new = _run_min(new.transpose(1, 2).contiguous(), columns).transpose(1, 2).reshape(n, -1)
        new = new.gather(1, new)  # pointer jumping: a pixel's root's root
        new = new.gather(1, new).view(n, h, w)
        if torch.equal(new, comp):
            return comp
        comp = new


def _earlier_neighbour(comp: torch.Tensor) -> torch.Tensor:
    """(N, L): for each piece (indexed by its first pixel), the latest-starting adjacent piece
    that starts before it; -1 if none (only the piece holding pixel 0)."""
    n = comp.shape[0]
    best = torch.full((n, comp[0].numel()), -1, dtype=torch.int64, device=comp.device)
    for a, b in ((comp[:, :, :-1], comp[:, :, 1:]), (comp[:, :-1, :], comp[:, 1:, :])):
        a, b = a.reshape(n, -1), b.reshape(n, -1)
        best.scatter_reduce_(1, b, torch.where(a < b, a, -1), "amax")
        best.scatter_reduce_(1, a, torch.where(b < a, b, -1), "amax")
    return best


def enforce_connectivity(labels: torch.Tensor, n_segments: int, min_size_factor: float = 0.5) -> torch.Tensor:
    """Split labels into connected pieces and merge the small ones, like scikit-image's clean-up.

    Pieces come from :func:`connected_components`; a small piece joins its latest-starting neighbour
    among those that start before it (following chains of small pieces), and pieces are numbered in
    raster order of their first pixel. Unlike scikit-image, large pieces are never cut (docs/gpu.md).

    Args:
        labels: (N, H, W) integer labels.
        n_segments: segments asked of SLIC (sets the mean segment size H * W / n_segments).
        min_size_factor: pieces below this share of the mean segment size are merged.

    Returns:
        (N, H, W) int64 connected labels 0, 1, ... per image.
    """
    n, h, w = labels.shape
    comp = connected_components(labels)
    flat = comp.reshape(n, -1)
    size = torch.zeros_like(flat).scatter_add_(1, flat, torch.ones_like(flat))
    small = (size > 0) & (size < int(min_size_factor * h * w / n_segments))
    earlier = _earlier_neighbour(comp)
    target = torch.where(small & (earlier >= 0), earlier, torch.arange(h * w, device=labels.device))
    while True:  # targets start strictly earlier, so chains end
        jumped = target.gather(1, target)
        if torch.equal(jumped, target):
            break
        target = jumped
    return consecutive(target.gather(1, flat), h * w).view(n, h, w)


def prepare_lab(rgb: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The colours SLIC clusters: clip to [0, 1], rescale per image to its min..max, CIELAB.

    Args:
        rgb: (N, 3, H, W) float.
        dtype: working precision.

    Returns:
        (N, 3, H, W) CIELAB in ``dtype``.
    """
    image = rgb.detach().to(dtype).clamp(0.0, 1.0)
    flat = image.flatten(1)
    low = flat.amin(dim=1).view(-1, 1, 1, 1)
    span = (flat.amax(dim=1).view(-1, 1, 1, 1) - low)
    image = (image - low) / torch.where(span > 0, span, torch.ones_like(span))
    return rgb_to_lab(image)


def torch_semantic_prior(
    rgb: torch.Tensor,
    scales: Sequence[int] = (8, 12, 16, 20),
    dtype: torch.dtype = torch.float32,
    connectivity: bool = False,
) -> torch.Tensor:
    """Multi-scale SLIC labels of a batch, on ``rgb``'s device (the GPU fast path of the prior).

    The drop-in counterpart of :func:`hprn_geo.model.prior.semantic_prior`
    (``semantic_prior(rgb, scales, method="torch")`` calls this); see the module
    docstring for what matches scikit-image and what does not.

    Args:
        rgb: (N, 3, H, W) float tensor in [0, 1] (values outside are clipped), any device.
        scales: segment counts, one label map per count.
        dtype: working precision (float32; float64 follows scikit-image more closely).
        connectivity: add the :func:`enforce_connectivity` clean-up (connected
            segments, closer to scikit-image; off by default, see the module docstring).

    Returns:
        (N, S, H, W) int64 labels from 0, consecutive per image and scale, on ``rgb``'s device.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must have shape (N, 3, H, W), got {tuple(rgb.shape)}")
    n, _, h, w = rgb.shape
    if n == 0 or h == 0 or w == 0:
        return torch.zeros(n, len(scales), h, w, dtype=torch.int64, device=rgb.device)
    with torch.autocast(rgb.device.type, enabled=False):
        lab = prepare_lab(rgb, dtype)
        maps = [slic(lab, int(k)) for k in scales]
        if connectivity:
            maps = [enforce_connectivity(m, int(k)) for m, k in zip(maps, scales)]
        return torch.stack(maps, dim=1)
