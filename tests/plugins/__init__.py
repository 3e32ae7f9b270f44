"""Tests of the host-toolkit adapters in ../plugins (openEO UDF, QGIS plugin)."""
