"""Remote inputs: http(s) URLs read through GDAL's ``/vsicurl/``, retrying what fails for a moment.

A URL is opened as ``/vsicurl?max_retry=N&retry_delay=S&url=...`` (:func:`gdal_name`): the retry
policy travels in the name, so it holds in every thread and dask worker that opens it. ``N`` and ``S``
are the user's ``GDAL_HTTP_MAX_RETRY`` and ``GDAL_HTTP_RETRY_DELAY`` where set, else :data:`MAX_RETRY`
and :data:`RETRY_DELAY`. Documents (STAC Items) are fetched with the same policy by :func:`read_url`.
See ``docs/reliability.md`` ("Remote inputs are retried").
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from urllib.parse import quote

from rasterio.env import get_gdal_config

from hprn_geo.errors import OptionError

__all__ = ["MAX_RETRY", "RETRY_CODES", "RETRY_DELAY", "gdal_name", "is_url", "read_url", "retry_policy"]

MAX_RETRY = 3
"""Retries of a failed HTTP request when the user has not set ``GDAL_HTTP_MAX_RETRY``."""
RETRY_DELAY = 1.0
"""Seconds before the first retry when the user has not set ``GDAL_HTTP_RETRY_DELAY`` (then about doubling)."""
RETRY_CODES = (429, 500, 502, 503, 504)
"""HTTP statuses worth retrying (GDAL's default list)."""
TIMEOUT = 30.0
"""Seconds :func:`read_url` waits for a server to answer."""

_SCHEMES = ("http://", "https://")
_VSICURL = "/vsicurl/"


def is_url(name: str) -> bool:
    """Whether ``name`` is an http(s) URL, bare or behind ``/vsicurl/``."""
    return name.lower().startswith(_SCHEMES) or name.startswith(_VSICURL)


def retry_policy() -> tuple[int, float]:
    """``(retries, first delay in seconds)``: the user's GDAL settings, else ours.

    Raises:
        OptionError: a setting that is not a number.
    """
    return int(_setting("GDAL_HTTP_MAX_RETRY", MAX_RETRY)), _setting("GDAL_HTTP_RETRY_DELAY", RETRY_DELAY)


def _setting(key: str, default: float) -> float:
    value = get_gdal_config(key)
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{key}={value!r} is not a number") from None


def gdal_name(name: str) -> str:
    """The GDAL name to open: URLs as ``/vsicurl?max_retry=..&retry_delay=..&url=..``, anything else unchanged.

    >>> gdal_name("scene.tif")
    'scene.tif'
    """
    if not is_url(name):
        return name
    retries, delay = retry_policy()
    return f"/vsicurl?max_retry={retries}&retry_delay={delay:g}&url={quote(name.removeprefix(_VSICURL), safe='')}"


def read_url(url: str) -> bytes:
    """The body at ``url`` (bare or behind ``/vsicurl/``), retried as :func:`retry_policy` says on :data:`RETRY_CODES` and network errors.

    Raises:
        urllib.error.URLError: the last try failed (``HTTPError`` for an HTTP status).
    """
    retries, delay = retry_policy()
    for attempt in range(retries):
        try:
            return _fetch(url)
        except urllib.error.HTTPError as e:
            if e.code not in RETRY_CODES:
                raise
        except urllib.error.URLError:
            pass
        time.sleep(delay * 2**attempt)
    return _fetch(url)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url.removeprefix(_VSICURL), timeout=TIMEOUT) as response:
        return response.read()
