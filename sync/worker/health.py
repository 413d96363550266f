"""`--health-port`: GET /healthz (is the data fresh), GET /livez (is the
process's loop turning) and GET /metrics for Prometheus, served from a daemon
thread with the standard library's HTTP server."""
from __future__ import annotations

import errno
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sync.core.errors import ConfigError
from sync.worker.telemetry import REGISTRY

PORTS = range(1, 65536)


def verdict(now: datetime, window: timedelta, started: datetime, last_success: datetime | None,
            last_failed: bool) -> tuple[bool, str]:
    """/healthz's rule for one workspace: healthy while the last sync
    succeeded within `window` (two intervals) or before the first sync has
    ended; unhealthy once the last attempt failed, even when none ever
    succeeded (a daemon whose every sync fails is not `starting`)."""
    if last_failed:
        return False, "failing"
    if last_success is None:
        return True, "starting"
    healthy = now - last_success <= window
    return healthy, "ok" if healthy else "stale"


def serve(port: int, status: Callable[[], tuple[bool, dict]], host: str = "0.0.0.0",
          alive: Callable[[], bool] = lambda: True, flag: str = "--health-port") -> ThreadingHTTPServer:
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

    server = listen(port, host, Handler, flag)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def listen(port: int, host: str, handler, flag: str) -> ThreadingHTTPServer:
    """Bind the port, or say which port and which setting could not be used."""
    if port not in PORTS and port != 0:
        raise ConfigError(f"{flag} {port}: expected a port number from 1 to 65535")
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = "the port is already in use (another process listens on it)"
            hint = f"stop that process or pick another port with {flag}"
        elif exc.errno == errno.EACCES:
            why = "permission denied (ports below 1024 need privileges)"
            hint = f"pick a port above 1023 with {flag}"
        else:
            why, hint = f"cannot listen on it ({exc.strerror or exc})", f"pick another port with {flag}"
        raise ConfigError(f"{flag} {port}: {why}", hint=hint) from None
