"""`--health-port`: GET /healthz for probes and GET /metrics for Prometheus,
served from a daemon thread with the standard library's HTTP server."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sync.worker.telemetry import REGISTRY


def serve(port: int, status: Callable[[], tuple[bool, dict]], host: str = "0.0.0.0",
          alive: Callable[[], bool] = lambda: True) -> ThreadingHTTPServer:
    """Start the server; `status()` returns (healthy, details) for /healthz;
    `alive()` answers /livez: the process's own loop is turning (a liveness
    probe for many workspaces, where /healthz fails while any team's does)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                healthy, details = status()
                self._send(200 if healthy else 503, "application/json",
                           json.dumps(details).encode())
            elif path == "/livez":
                ok = alive()
                self._send(200 if ok else 503, "application/json",
                           json.dumps({"status": "alive" if ok else "stuck"}).encode())
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            else:
                self._send(404, "text/plain", b"not found: try /healthz, /livez or /metrics\n")

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):   # probes every few seconds would flood the log
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
