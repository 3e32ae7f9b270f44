"""A real HTTP server on 127.0.0.1 for remote-input tests: Range requests, and 503s on demand.

It runs in its own process (``python range_server.py ROOT`` prints its port):
GDAL holds the GIL while it fetches, so a server thread in the test process
would never answer. ``/_control?fail_every=2&down_after=10`` sets the failure
mode and resets the counts, ``/_stats`` returns them as JSON; neither is counted.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class RangeServer(ThreadingHTTPServer):
    """Serves the files under ``root`` (GET with ``Range: bytes=a-b``, HEAD), one thread per request.

    Attributes:
        fail_every: answer requests 1, 1 + n, 1 + 2n, ... with 503 (the first try of any one
            document then fails); 0: never.
        down_after: answer every request after this many with 503; -1: never.
        requests, failures: requests counted, and those answered with 503.
    """

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.mode = {"fail_every": 0, "down_after": -1}
        self.counts = {"requests": 0, "failures": 0}
        self.count_lock = threading.Lock()

    def fails_now(self) -> bool:
        """Count a request; whether to answer it with 503."""
        with self.count_lock:
            self.counts["requests"] += 1
            n, every, after = self.counts["requests"], self.mode["fail_every"], self.mode["down_after"]
            fail = bool(every and (n - 1) % every == 0) or 0 <= after < n
            self.counts["failures"] += fail
            return fail


class _Handler(BaseHTTPRequestHandler):
    server: RangeServer

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's names)
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path == "/_control":
            with self.server.count_lock:
                self.server.mode.update({k: int(v[0]) for k, v in parse_qs(parts.query).items()})
                self.server.counts.update(requests=0, failures=0)
            self._send(200, b"ok")
        elif parts.path == "/_stats":
            with self.server.count_lock:
                self._send(200, json.dumps(self.server.counts).encode())
        else:
            self._answer(body=True)

    def _answer(self, body: bool) -> None:
        if self.server.fails_now():
            self.send_error(503, "flaky on purpose")
            return
        path = self.server.root / unquote(urlsplit(self.path).path).lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if not match:
            self._send(200, data, body)
            return
        start, stop = int(match[1]), min(int(match[2] or len(data) - 1) + 1, len(data))
        if start >= len(data):
            self.send_error(416)
            return
        self._send(206, data[start:stop], body, {"Content-Range": f"bytes {start}-{stop - 1}/{len(data)}"})

    def _send(self, status: int, data: bytes, body: bool = True, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
                           "Content-Length": str(len(data)), **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet."""


class ServedFolder:
    """A :class:`RangeServer` over ``root`` in a child process; a context manager."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._proc = subprocess.Popen([sys.executable, __file__, str(root)], stdout=subprocess.PIPE, text=True)
        self.base = f"http://127.0.0.1:{int(self._proc.stdout.readline())}"

    def url(self, name: str) -> str:
        """The URL of file ``name`` under ``root``."""
        return f"{self.base}/{name}"

    def set(self, fail_every: int = 0, down_after: int = -1) -> None:
        """Set the failure mode and reset the counts."""
        urllib.request.urlopen(f"{self.base}/_control?fail_every={fail_every}&down_after={down_after}").read()

    def stats(self) -> dict[str, int]:
        """``{"requests": n, "failures": m}`` since the last :meth:`set`."""
        return json.loads(urllib.request.urlopen(f"{self.base}/_stats").read())

    def __enter__(self) -> ServedFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.kill()
        self._proc.wait(timeout=30)
        self._proc.stdout.close()


if __name__ == "__main__":
    server = RangeServer(Path(sys.argv[1]))
    print(server.server_address[1], flush=True)
    server.serve_forever()
