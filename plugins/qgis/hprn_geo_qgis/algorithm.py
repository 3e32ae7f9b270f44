"""The Processing algorithm: a thin QGIS form over :func:`hprn_geo_qgis.runner.reconstruct_raster`."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from hprn_geo.errors import HPRNGeoError

from .runner import COLOUR_CONSISTENCY, DEVICES, ENCODINGS, WHITE_BALANCES, model_names, reconstruct_raster

_HELP = (
    "Reconstructs a hyperspectral reflectance cube from an RGB raster with HPRN (hprn-geo). "
    "The output has the input's CRS, transform and nodata, one band per wavelength "
    "(band descriptions like '550.0 nm'). Leave tile and overlap empty to use the model card's. "
    "Scale: 'auto' (uint8 /255, uint16 by bit depth or declared scale, floats as is) or a factor. "
    "Encoding: 'auto' decodes 8-bit rasters without a declared scale as sRGB photos. "
    "White balance: per-scene channel gains (gray-world, white-patch, exposure). "
    "Colour-consistent: the output renders back to the input through the model's input response."
)


class ReconstructAlgorithm(QgsProcessingAlgorithm):
    """RGB raster -> hyperspectral cube."""

    INPUT, RED, GREEN, BLUE = "INPUT", "RED", "GREEN", "BLUE"
    MODEL, WEIGHTS, SCALE, TILE, OVERLAP = "MODEL", "WEIGHTS", "SCALE", "TILE", "OVERLAP"
    DEVICE, COG, OUTPUT = "DEVICE", "COG", "OUTPUT"
    ENCODING, WHITE_BALANCE, COLOUR_CONSISTENT = "ENCODING", "WHITE_BALANCE", "COLOUR_CONSISTENT"

    def name(self) -> str:
        return "reconstruct"

    def displayName(self) -> str:
        return "Reconstruct hyperspectral cube from RGB"

    def shortHelpString(self) -> str:
        return _HELP

    def createInstance(self) -> ReconstructAlgorithm:
        return ReconstructAlgorithm()

    def initAlgorithm(self, config: dict | None = None) -> None:
        self.models = model_names()
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "RGB raster"))
        for default, (name, colour) in enumerate(((self.RED, "Red"), (self.GREEN, "Green"), (self.BLUE, "Blue")), 1):
            self.addParameter(QgsProcessingParameterBand(name, f"{colour} band", default, self.INPUT))
        self.addParameter(QgsProcessingParameterEnum(self.MODEL, "Bundled model (empty: the default)",
                                                     self.models, optional=True))
        self.addParameter(QgsProcessingParameterFile(self.WEIGHTS, "Checkpoint file instead of a bundled model",
                                                     extension="pt", optional=True))
        self.addParameter(QgsProcessingParameterString(self.SCALE, "Input scale to reflectance", "auto"))
        self.addParameter(QgsProcessingParameterEnum(self.ENCODING, "Input encoding", list(ENCODINGS), defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(self.WHITE_BALANCE, "White balance", list(WHITE_BALANCES),
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(self.COLOUR_CONSISTENT, "Colour-consistent output",
                                                     list(COLOUR_CONSISTENCY), defaultValue=0))
        for name, label, minimum in ((self.TILE, "Tile size (px)", 1), (self.OVERLAP, "Tile overlap (px)", 0)):
            self.addParameter(QgsProcessingParameterNumber(name, label, QgsProcessingParameterNumber.Integer,
                                                           optional=True, minValue=minimum))
        self.addParameter(QgsProcessingParameterEnum(self.DEVICE, "Device", list(DEVICES), defaultValue=0))
        self.addParameter(QgsProcessingParameterBoolean(self.COG, "Cloud Optimized GeoTIFF", True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Hyperspectral cube"))

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        try:
            reconstruct_raster(
                layer.source(), output,
                model=self._model(parameters, context),
                weights=self.parameterAsFile(parameters, self.WEIGHTS, context) or None,
                rgb_bands=tuple(self.parameterAsInt(parameters, b, context) for b in (self.RED, self.GREEN, self.BLUE)),
                scale=self.parameterAsString(parameters, self.SCALE, context),
                encoding=ENCODINGS[self.parameterAsEnum(parameters, self.ENCODING, context)],
                white_balance=WHITE_BALANCES[self.parameterAsEnum(parameters, self.WHITE_BALANCE, context)],
                colour_consistent=list(COLOUR_CONSISTENCY.values())[
                    self.parameterAsEnum(parameters, self.COLOUR_CONSISTENT, context)],
                tile=self._optional_int(parameters, self.TILE, context),
                overlap=self._optional_int(parameters, self.OVERLAP, context),
                device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
                cog=self.parameterAsBoolean(parameters, self.COG, context),
                log=feedback.pushInfo,
            )
        except (HPRNGeoError, ValueError) as exc:
            raise QgsProcessingException(str(exc)) from exc
        return {self.OUTPUT: output}

    def _model(self, parameters: dict[str, Any], context: QgsProcessingContext) -> str | None:
        if parameters.get(self.MODEL) is None:
            return None
        return self.models[self.parameterAsEnum(parameters, self.MODEL, context)]

    def _optional_int(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> int | None:
        return None if parameters.get(name) in (None, "") else self.parameterAsInt(parameters, name, context)
