"""Posting to a webhook without trusting it.

A webhook URL comes from a config file and its answers from a server we do
not run, so a delivery:
- connects only to addresses it checked: the host is resolved once, every
  address it resolves to is checked (private, link-local, loopback and
  cloud metadata ranges are refused unless the target says
  `allow_private: true`; plain http only ever reaches loopback, for a local
  test server), and the socket is opened to a checked address, so a DNS
  answer that changes between check and connect changes nothing;
- never follows a redirect (a 3xx is a failed delivery naming the new host),
  so a POST is never re-sent elsewhere nor turned into a GET;
- reads at most 64 KiB of any answer;
- has one deadline, 30 s for all its attempts and waits: a `Retry-After`
  beyond it fails at once, and a server that drips its answer is cut off
  when the deadline passes.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection

from sync.core.errors import AlignSyncError, RemoteError, TransientError
from sync.worker.runtime import Runtime

from connectors import http as remote
from connectors.download import ConnectionsAdapter

DEADLINE = 30.0               # seconds for one delivery, retries and waits included
BODY_CAP = 64 * 1024          # bytes of an answer read, at most
METADATA_HOSTS = {"metadata.google.internal", "metadata.goog", "metadata"}
METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2",
                                               "100.100.100.200")}
ALLOW_HINT = "set allow_private: true on the target in {where} if that address is meant"


class Refused(Exception):
    """The address check refused a connection; the text is the reason."""


def address_problem(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, *, plain_http: bool,
                    allow_private: bool) -> str:
    """Why a connection to `addr` is refused ("" when it is not)."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if addr in METADATA:
        return "a cloud metadata address"
    if plain_http:
        return "" if addr.is_loopback else "not a loopback address (plain http is only for a local test server)"
    if allow_private:
        return ""
    for kind in ("loopback", "link_local", "multicast", "unspecified"):
        if getattr(addr, f"is_{kind}"):
            return f"{'an' if kind[0] == 'u' else 'a'} {kind.replace('_', '-')} address"
    return "" if addr.is_global else "a private address"


class Guard:
    """One delivery's connections: addresses checked, one deadline, and the
    sockets it opened, to cut them when the deadline passes."""

    def __init__(self, allow_private: bool, seconds: float):
        self.allow_private, self.seconds = allow_private, seconds
        self.deadline = time.monotonic() + seconds
        self.sockets: list[socket.socket] = []   # duplicates of every socket opened
        self.tripped = False                # the deadline passed and the sockets were cut
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def connect(self, host: str, port: int, timeout, plain_http: bool) -> socket.socket:
        name = host.strip("[]").rstrip(".").lower()
        if name in METADATA_HOSTS:
            raise Refused(f"{name} is a cloud metadata service")
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        for *_, sockaddr in infos:
            problem = address_problem(ipaddress.ip_address(sockaddr[0].split("%")[0]),
                                      plain_http=plain_http, allow_private=self.allow_private)
            if problem:
                raise Refused(f"{name} resolves to {sockaddr[0]}, {problem}")
        error: OSError = OSError(f"{name} resolves to no address")
        for family, kind, proto, _, sockaddr in infos:
            sock = self.watch(socket.socket(family, kind, proto))
            wait = self.remaining() if not isinstance(timeout, (int, float)) else min(timeout, self.remaining())
            try:
                sock.settimeout(max(0.01, wait))
                sock.connect(sockaddr)          # the checked address itself, never a second lookup
                return sock
            except OSError as exc:
                error = exc
                sock.close()
        raise error

    def watch(self, sock: socket.socket) -> socket.socket:
        """Keep a duplicate of `sock`'s descriptor: a shutdown through it
        stops the connection even after TLS took the original over (wrapping
        detaches it), and it cannot be a reused number while we hold it."""
        with self._lock:
            # fromfd duplicates the descriptor (an SSLSocket has no dup())
            self.sockets.append(socket.fromfd(sock.fileno(), sock.family, sock.type))
        return sock

    def run(self, service: str, once, *, label: str, runtime: Runtime, translate=None) -> None:
        """`once()`, retried within the deadline, under a watchdog that cuts
        the sockets when it passes; anything but our own errors becomes the
        target's failure too."""
        watchdog = threading.Timer(self.remaining(), self.cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            remote.call(service, once, runtime=runtime, translate=translate, seconds=self.seconds)
        except AlignSyncError:
            raise
        except Exception as exc:            # anything else at all is still this target's failure
            raise RemoteError(f"{label}: {type(exc).__name__}") from None
        finally:
            watchdog.cancel()
            with self._lock:
                for dup in self.sockets:
                    dup.close()
                self.sockets.clear()

    def cut(self) -> None:
        """The deadline passed: whatever is still reading stops now."""
        with self._lock:
            self.tripped = True
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _guarded_adapter(guard: Guard) -> ConnectionsAdapter:
    """requests' adapter whose connections open through a `Guard`."""
    class Plain(HTTPConnection):
        def _new_conn(self):
            return guard.connect(self._dns_host, self.port, self.timeout, plain_http=True)

    class Tls(HTTPSConnection):
        def _new_conn(self):       # TLS still checks the certificate against the host name
            return guard.connect(self._dns_host, self.port, self.timeout, plain_http=False)
    return ConnectionsAdapter(Plain, Tls)


def _read(response: requests.Response, guard: Guard) -> str:
    """At most BODY_CAP bytes of the answer, as text."""
    got, size = [], 0
    for chunk in response.iter_content(8192):
        got.append(chunk)
        size += len(chunk)
        if size >= BODY_CAP or guard.remaining() <= 0:
            break
    return b"".join(got)[:BODY_CAP].decode("utf-8", "replace")


def _location_host(response: requests.Response, url: str) -> str:
    """Where a redirect points, as a host only: the rest may be a secret."""
    target = urlsplit(urljoin(url, response.headers.get("Location") or ""))
    return target.hostname or f"a {target.scheme or 'relative'}: location"


def _cause(exc: BaseException) -> str:
    """The reason at the bottom of a connection error (refused, reset, timed out)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__ or next(
            (a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)), None)
    return ""


def post(url: str, body: dict, *, service: str, label: str, where: str, allow_private: bool,
         runtime: Runtime, variant=lambda status, text: "", seconds: float = DEADLINE) -> None:
    """POST `body` as JSON to `url`; raises AlignSyncError (message starting
    with `label`), never anything else.  `variant(status, text)`: the finer
    case of a refusal the hint table knows (Slack's error codes)."""
    guard = Guard(allow_private, seconds)
    session = requests.Session()
    session.trust_env = False           # no proxy or .netrc from the environment: the checked address is the peer
    adapter = _guarded_adapter(guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.hooks["response"].append(runtime.telemetry.response_hook(service))

    def once() -> None:
        if guard.remaining() <= 0:
            raise TransientError(f"{label}: no answer within the {seconds:g} s delivery deadline")
        response = session.post(url, json=body, allow_redirects=False, stream=True,
                                headers={"Accept-Encoding": "identity"},
                                timeout=(min(10.0, guard.remaining()), guard.remaining()))
        try:
            text = _read(response, guard)
        finally:
            response.close()
        if guard.tripped:                   # a cut socket reads as the end of the answer
            raise TransientError(f"{label}: no answer within the {seconds:g} s delivery deadline")
        status = response.status_code
        if status < 300:
            return
        # Everything the answer says; connectors.http picks what each status
        # means (a redirect names only where it points, a 4xx may quote the text).
        raise remote.status_error(
            service, status, label=label, text=text, redact=runtime.redactor,
            variant=variant(status, text.strip()),
            retry_after=remote.retry_after(response.headers.get("Retry-After")),
            location=_location_host(response, url), where=where)

    def translate(exc: Exception) -> AlignSyncError:
        if isinstance(exc, Refused):
            # A metadata service is refused whatever the target says: no hint to lift it.
            metadata = "metadata" in str(exc)
            return RemoteError(f"{label}: refused to connect: {exc}",
                               hint="" if metadata else ALLOW_HINT.format(where=where))
        if guard.remaining() <= 0:
            return TransientError(f"{label}: no answer within the {seconds:g} s delivery deadline")
        if isinstance(exc, requests.exceptions.SSLError):
            return RemoteError(f"{label}: TLS failed ({_cause(exc) or 'the certificate did not verify'})",
                               hint="the webhook's host must present a certificate valid for its name")
        if isinstance(exc, (requests.ConnectionError, requests.Timeout, OSError)):
            cause = _cause(exc)
            return TransientError(f"{label}: {type(exc).__name__}" + (f" ({cause})" if cause else ""))
        return RemoteError(f"{label}: {type(exc).__name__}")

    try:
        guard.run(service, once, label=label, runtime=runtime, translate=translate)
    finally:
        session.close()
