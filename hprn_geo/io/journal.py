"""The resume journal kept beside a cube being written (``cube.tif.journal.json``): which strips and
blocks are safely on disk, and a fingerprint of the cube's layout so that a resume with different
options is refused. Rewritten atomically, only after the data it lists has been flushed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hprn_geo.errors import OutputError
from hprn_geo.io.publish import partial_path, published

__all__ = ["Journal"]

_VERSION = 1


def fingerprint_digest(fingerprint: dict[str, Any]) -> str:
    """sha256 of the fingerprint's canonical JSON."""
    text = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Journal:
    """Finished strips and flushed row blocks of one cube being written.

    Attributes:
        path: where the journal lives (``<target>.journal.json``).
        fingerprint: JSON-ready description of the cube's layout.
        strips: strip index -> (row_off, rows), only strips wholly on disk.
        blocks: indices of row blocks (``block_rows`` rows each) on disk.
    """

    path: Path
    fingerprint: dict[str, Any]
    strips: dict[int, tuple[int, int]] = field(default_factory=dict)
    blocks: set[int] = field(default_factory=set)

    def save(self) -> None:
        """Write atomically: a temporary file, fsync, then ``os.replace``."""
        payload = {
            "version": _VERSION,
            "fingerprint": self.fingerprint,
            "fingerprint_sha256": fingerprint_digest(self.fingerprint),
            "blocks": sorted(self.blocks),
            "strips": {str(i): list(rows) for i, rows in sorted(self.strips.items())},
        }
        with published(self.path, durable=True) as tmp:
            tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, expected: dict[str, Any], target: str) -> Journal:
        """Read a journal and check it was written for the same cube layout.

        Raises:
            OutputError: unreadable journal, or its fingerprint differs.
        """
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            fingerprint = payload["fingerprint"]
            blocks = {int(b) for b in payload["blocks"]}
            strips = {int(i): (int(r[0]), int(r[1])) for i, r in payload["strips"].items()}
        except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
            raise OutputError(f"cannot resume {target}: journal {path.name} is unreadable ({e}); "
                              "delete it or drop --resume") from None
        if fingerprint_digest(fingerprint) != fingerprint_digest(expected):
            keys = sorted(k for k in set(fingerprint) | set(expected) if fingerprint.get(k) != expected.get(k))
            raise OutputError(f"cannot resume {target}: it was started with a different {', '.join(keys)}; "
                              "use the same options, or drop --resume to start over")
        return cls(path, fingerprint, strips, blocks)

    def remove(self) -> None:
        """Delete the journal and any temporary copy of it."""
        for p in (self.path, partial_path(self.path)):
            p.unlink(missing_ok=True)
