"""The QGIS side: the plugin object and its Processing provider."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication, QgsProcessingProvider

from .algorithm import ReconstructAlgorithm


class HprnGeoProvider(QgsProcessingProvider):
    """Processing provider "hprn-geo"."""

    def id(self) -> str:
        return "hprngeo"

    def name(self) -> str:
        return "hprn-geo"

    def longName(self) -> str:
        return "hprn-geo: RGB to hyperspectral reconstruction (HPRN)"

    def loadAlgorithms(self) -> None:
        self.addAlgorithm(ReconstructAlgorithm())


class HprnGeoPlugin:
    """Registers the provider with QGIS's Processing framework while the plugin is loaded."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.provider: HprnGeoProvider | None = None

    def initProcessing(self) -> None:
        self.provider = HprnGeoProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
