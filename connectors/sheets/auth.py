"""The service-account key and its token request, for the Sheets sink.

The key is a file path or the JSON itself (from an environment variable);
its private key is a secret from the moment it is read.  The token request
is tried once per call: retries are ours (`connectors.http.call`), not google-auth's.
"""
from __future__ import annotations

import json
import os

from google.auth.exceptions import TransportError
from google.auth.transport import DEFAULT_RETRYABLE_STATUS_CODES as RETRYABLE
from google.auth.transport.requests import Request

from sync.core.errors import ConfigError
from sync.worker.runtime import Runtime

_REQUIRED = ("type", "client_email", "private_key", "token_uri")


def load_key(config, runtime: Runtime) -> dict:
    """The service-account key: a file path, or the JSON itself (from an env var)."""
    raw = config.credentials.strip()
    where = "sink.credentials"
    if not raw.startswith("{"):
        where = f"sink.credentials ({raw})"
        try:
            with open(os.path.expanduser(raw), encoding="utf-8") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read the service-account key file ({exc.strerror})")
    try:
        info = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not JSON (line {exc.lineno}); expected a service-account key "
                          "file downloaded from Google Cloud → IAM → Service accounts → Keys")
    if not isinstance(info, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    runtime.redactor.add([info.get("private_key") or "", info.get("private_key_id") or ""])
    missing = [k for k in _REQUIRED if not info.get(k)]
    if missing:
        raise ConfigError(f"{where}: the key has no {', '.join(missing)}",
                          hint="download a new JSON key for the service account")
    if info["type"] != "service_account":
        raise ConfigError(f"{where}: `type` is {info['type']!r}; expected 'service_account' "
                          "(an OAuth client or user credential will not work)")
    if "BEGIN PRIVATE KEY" not in info["private_key"]:
        raise ConfigError(f"{where}: `private_key` is not a PEM private key")
    return info


class TokenRequest(Request):
    """The service-account token request, tried once.  google-auth would
    retry a 429/5xx from the token endpoint three times with its own sleeps,
    under our five: such an answer becomes a TransportError instead, which
    `retry` waits on and counts like any other failure."""

    def __call__(self, *args, **kwargs):
        response = super().__call__(*args, **kwargs)
        if response.status in RETRYABLE:
            raise TransportError(f"token endpoint answered HTTP {response.status}")
        return response
