"""The patch classifier of the paper's Pavia experiment: a small CNN on 11 x 11 neighbourhoods.

The paper (Sec. IV-D, ref. [63]) says only "three convolutional and two fully-connected layers"; ours,
the same for every input, its training (Adam, cross-entropy, a fixed number of epochs, no early
stopping, random turns and mirrors) and its determinism (bit for bit on the CPU for one seed, not on
CUDA) are in docs/classify.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

__all__ = ["ClassifierConfig", "PatchCNN", "PixelClassifier"]


@dataclass(frozen=True)
class ClassifierConfig:
    """Hyper-parameters of :class:`PixelClassifier` (the defaults are the documented set-up)."""

    patch: int = 11
    width: int = 64
    hidden: int = 128
    dropout: float = 0.5
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0

    def to_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


class PatchCNN(nn.Module):
    """Three valid 3x3 convolutions and two fully connected layers: (N, C, P, P) -> (N, K) logits."""

    def __init__(self, bands: int, classes: int, config: ClassifierConfig) -> None:
        super().__init__()
        w, side = config.width, config.patch - 6
        if side < 1 or config.patch % 2 == 0:
            raise ValueError(f"the patch must be odd (centred on its pixel) and at least 7, got {config.patch}")
        layers: list[nn.Module] = []
        for c_in in (bands, w, w):
            layers += [nn.Conv2d(c_in, w, 3), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(w * side * side, config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, classes),
        )

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(patches))


class PixelClassifier:
    """A :class:`PatchCNN` fitted to one image's training pixels, with its band standardisation.

    Args:
        image: (C, H, W) float, the input to classify (NaN-free where used).
        labels: (H, W) int class ids.
        train: (H, W) bool training pixels.
        config: hyper-parameters.
        device: torch device.
        progress: show a progress bar.
        name: the bar's label.
    """

    def __init__(
        self,
        image: np.ndarray,
        labels: np.ndarray,
        train: np.ndarray,
        config: ClassifierConfig = ClassifierConfig(),
        device: str | torch.device = "cpu",
        progress: bool = False,
        name: str = "classifier",
    ) -> None:
        self.config, self.device = config, torch.device(device)
        self.classes = np.unique(labels[train])
        pixels = image[:, train].astype(np.float64)
        self.mean = pixels.mean(axis=1).astype(np.float32)
        self.std = np.maximum(pixels.std(axis=1), 1e-6).astype(np.float32)
        self._padded = self._pad(image)
        torch.manual_seed(config.seed)
        self.model = PatchCNN(image.shape[0], len(self.classes), config).to(self.device)
        rows, cols = np.nonzero(train)
        targets = np.searchsorted(self.classes, labels[rows, cols])
        self._fit(rows, cols, torch.from_numpy(targets).to(self.device), progress, name)

    def _pad(self, image: np.ndarray) -> np.ndarray:
        half = self.config.patch // 2
        scaled = (image - self.mean[:, None, None]) / self.std[:, None, None]
        mode = "reflect" if min(image.shape[1:]) > half else "edge"
        return np.pad(np.nan_to_num(scaled).astype(np.float32), ((0, 0), (half, half), (half, half)), mode=mode)

    def _patches(self, padded: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> torch.Tensor:
        """(N, C, P, P) patches centred on (rows, cols) of the unpadded image."""
        offsets = np.arange(self.config.patch)
        block = padded[:, (rows[:, None] + offsets)[:, :, None], (cols[:, None] + offsets)[:, None, :]]
        return torch.from_numpy(np.ascontiguousarray(block.transpose(1, 0, 2, 3))).to(self.device)

    def _fit(self, rows: np.ndarray, cols: np.ndarray, targets: torch.Tensor, progress: bool, name: str) -> None:
        c = self.config
        generator = torch.Generator().manual_seed(c.seed)
        optimizer = torch.optim.Adam(self.model.parameters(), lr=c.lr)
        loss_fn = nn.CrossEntropyLoss()
        self.model.train()
        for _ in tqdm(range(c.epochs), desc=name, disable=not progress, leave=False):
            order = torch.randperm(rows.size, generator=generator).numpy()
            for start in range(0, rows.size, c.batch_size):
                batch = order[start : start + c.batch_size]
                if batch.size < 2:  # BatchNorm needs two samples
                    continue
                patches = self._patches(self._padded, rows[batch], cols[batch])
                turns, mirror = torch.randint(4, (2,), generator=generator).tolist()
                patches = torch.rot90(patches, turns, dims=(2, 3))
                patches = patches.flip(3) if mirror % 2 else patches
                loss = loss_fn(self.model(patches), targets[torch.from_numpy(batch).to(self.device)])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        self.model.eval()

    @torch.no_grad()
    def predict(self, rows: np.ndarray, cols: np.ndarray, chunk: int = 1024) -> np.ndarray:
        """(N,) class ids at pixels (rows, cols) of the fitted image, ``chunk`` patches at a time."""
        out = np.zeros(rows.size, np.int64)
        for s in range(0, rows.size, chunk):
            logits = self.model(self._patches(self._padded, rows[s : s + chunk], cols[s : s + chunk]))
            out[s : s + chunk] = self.classes[logits.argmax(dim=1).cpu().numpy()]
        return out

    def predict_map(self, valid: np.ndarray) -> np.ndarray:
        """(H, W) int64 class map of the fitted image, 0 where ``valid`` (H, W) is False."""
        out = np.zeros(valid.shape, np.int64)
        rows, cols = np.nonzero(valid)
        out[rows, cols] = self.predict(rows, cols)
        return out
