"""The Processing algorithm: a thin QGIS form over :func:`hprn_geo_qgis.runner.reconstruct_raster`."""

from __future__ import annotations

import traceback
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

from .runner import (
    COLOUR_CONSISTENCY,
    DEVICES,
    ENCODINGS,
    INPUT_SENSORS,
    LABELS,
    WHITE_BALANCES,
    PredictOptions,
    host_message,
    layer_name,
    model_names,
    reconstruct_raster,
)

_HELP = (
    "Reconstructs a hyperspectral reflectance cube from an RGB raster with HPRN (hprn-geo). "
    "The output has the input's CRS, transform and nodata, one band per wavelength "
    "(band descriptions like '550 nm'). Leave tile and overlap empty to use the model card's. "
    "Scale: 'auto' (uint8 /255, uint16 by bit depth or declared scale, floats as is) or a factor. "
    "Encoding: 'auto' decodes 8-bit rasters without a declared scale as sRGB photos. "
    "White balance: per-scene channel gains (gray-world, white-patch, exposure). "
    "Colour-consistent: the output renders back to the input through the model's input response. "
    "Input sensor: a satellite product (Sentinel-2 L2A, Landsat C2 L2, Pléiades, SPOT 6/7): bands picked by "
    "their names unless the band parameters are set, integers scaled by the product's convention, and the "
    "model that takes that sensor."
)


class ReconstructAlgorithm(QgsProcessingAlgorithm):
    """RGB raster -> hyperspectral cube.

    Every parameter with a default is optional: QGIS 3.22 refuses a missing non-optional value
    before it looks at the default ("Incorrect parameter value for RED") in ``processing.run``
    and ``qgis_process``.
    """

    INPUT, RED, GREEN, BLUE = "INPUT", "RED", "GREEN", "BLUE"
    MODEL, WEIGHTS, SCALE, TILE, OVERLAP = "MODEL", "WEIGHTS", "SCALE", "TILE", "OVERLAP"
    DEVICE, COG, OUTPUT = "DEVICE", "COG", "OUTPUT"
    ENCODING, WHITE_BALANCE, COLOUR_CONSISTENT = "ENCODING", "WHITE_BALANCE", "COLOUR_CONSISTENT"
    SENSOR = "SENSOR"

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
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, LABELS[self.INPUT]))
        for name in (self.RED, self.GREEN, self.BLUE):  # unset: 1, 2, 3, or by name with a sensor
            self.addParameter(QgsProcessingParameterBand(name, LABELS[name], None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.MODEL, LABELS[self.MODEL], self.models, optional=True))
        self.addParameter(QgsProcessingParameterFile(self.WEIGHTS, LABELS[self.WEIGHTS], extension="pt",
                                                     optional=True))
        self.addParameter(QgsProcessingParameterString(self.SCALE, LABELS[self.SCALE], "auto", optional=True))
        for name, choices in ((self.SENSOR, INPUT_SENSORS), (self.ENCODING, ENCODINGS),
                              (self.WHITE_BALANCE, WHITE_BALANCES), (self.COLOUR_CONSISTENT, COLOUR_CONSISTENCY)):
            self.addParameter(QgsProcessingParameterEnum(name, LABELS[name], list(choices), defaultValue=0,
                                                         optional=True))
        for name, minimum in ((self.TILE, 1), (self.OVERLAP, 0)):
            self.addParameter(QgsProcessingParameterNumber(name, LABELS[name], QgsProcessingParameterNumber.Integer,
                                                           optional=True, minValue=minimum))
        self.addParameter(QgsProcessingParameterEnum(self.DEVICE, LABELS[self.DEVICE], list(DEVICES), defaultValue=0,
                                                     optional=True))
        self.addParameter(QgsProcessingParameterBoolean(self.COG, LABELS[self.COG], True, optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, LABELS[self.OUTPUT]))

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        sensor = list(INPUT_SENSORS.values())[self.parameterAsEnum(parameters, self.SENSOR, context)]
        bands = tuple(parameters.get(b) for b in (self.RED, self.GREEN, self.BLUE))
        bands_set = any(b is not None and b != -1 for b in bands)
        try:
            options = PredictOptions(
                rgb_bands=tuple(self.parameterAsInt(parameters, b, context) for b in (self.RED, self.GREEN, self.BLUE))
                if bands_set else (None if sensor else (1, 2, 3)),
                scale=self.parameterAsString(parameters, self.SCALE, context) or "auto",
                encoding=ENCODINGS[self.parameterAsEnum(parameters, self.ENCODING, context)],
                white_balance=WHITE_BALANCES[self.parameterAsEnum(parameters, self.WHITE_BALANCE, context)],
                colour_consistent=list(COLOUR_CONSISTENCY.values())[
                    self.parameterAsEnum(parameters, self.COLOUR_CONSISTENT, context)],
                sensor=sensor,
                tile=self._optional_int(parameters, self.TILE, context),
                overlap=self._optional_int(parameters, self.OVERLAP, context),
                device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
            )
            report = reconstruct_raster(
                layer.source(), output, options,
                model=self._model(parameters, context),
                weights=self.parameterAsFile(parameters, self.WEIGHTS, context) or None,
                cog=self.parameterAsBoolean(parameters, self.COG, context),
                log=feedback.pushInfo,
                warn=feedback.pushWarning,
                progress=feedback.setProgress,
                cancelled=feedback.isCanceled,
            )
        except Exception as exc:  # every failure is one line in QGIS's log; the traceback goes to debug info
            feedback.pushDebugInfo(traceback.format_exc())
            raise QgsProcessingException(host_message(exc)) from exc
        if context.willLoadLayerOnCompletion(output):
            context.layerToLoadOnCompletionDetails(output).name = layer_name(layer.name(), report.model)
        return {self.OUTPUT: output}

    def _model(self, parameters: dict[str, Any], context: QgsProcessingContext) -> str | None:
        if parameters.get(self.MODEL) is None:
            return None
        return self.models[self.parameterAsEnum(parameters, self.MODEL, context)]

    def _optional_int(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> int | None:
        return None if parameters.get(name) in (None, "") else self.parameterAsInt(parameters, name, context)
