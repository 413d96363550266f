"""The authorised HTTP client a Google Sheets sink talks through, and what its
failures mean.

Made on the first request (the identity is resolved then: a key file, ADC,
impersonation or a user's grant, see `connectors.sheets.auth`) and kept for
the sink's life: a connection, never anything a sync read.  Every request
goes through `request`, so retries, deadlines and redaction are
`connectors.http`'s; this module only reads gspread's and google-auth's
exceptions out for it.  gspread's BackOffHTTPClient is not used (6.2.1 never
gives up on a 429).
"""
from __future__ import annotations

import json

import requests

from connectors import http as remote
from connectors.sheets.auth import Identity, identity, refused_token, token_request
from sync.core.errors import AlignSyncError, RemoteError
from sync.worker.runtime import Runtime

TIMEOUT = (10, 120)        # under the API's own 180 s processing limit


class Connection:
    def __init__(self, config, runtime: Runtime, spreadsheet: str):
        self.config = config              # the sink's: where its identity is configured
        self.runtime = runtime
        self.spreadsheet = spreadsheet    # its id, for the hints of a refusal
        self.http = None
        self.identity: Identity | None = None   # whom it signs in as, from the first request

    def open(self):
        """gspread's HTTP client, authorised."""
        if self.http is None:
            # lazy: gspread and google-auth (about 0.45 s to import) load only when a Google
            # Sheets sink opens the sheet; a process writing only to xlsx never needs them
            import gspread
            from google.auth.transport.requests import AuthorizedSession
            # Our own token transport: tried once per call (see auth.token_request),
            # on a plain session (google-auth's default mounts 3 connection retries).
            tokens = token_request(requests.Session())
            self.identity = identity(self.config, self.runtime, tokens)
            creds = self.identity.credentials
            session = AuthorizedSession(creds, auth_request=tokens)
            client = gspread.Client(auth=creds, session=session)
            client.http_client.auth = creds     # gspread sets it only for a session it builds
            client.set_timeout(TIMEOUT)
            client.http_client.session.hooks["response"].append(
                self.runtime.telemetry.response_hook("sheets"))
            # Whatever token google-auth minted is a secret from its first use.
            client.http_client.session.hooks["response"].append(self._redact_token)
            self.http = client.http_client
        return self.http

    def _redact_token(self, response, *args, **kwargs):
        bearer = response.request.headers.get("Authorization") or ""
        if bearer.startswith("Bearer "):
            self.runtime.redactor.add([bearer[7:]])
        return response

    def request(self, what: str, fn, attempts: int | None = None):
        return remote.call("sheets", fn, runtime=self.runtime, attempts=attempts,
                           translate=lambda exc: self.translate(exc, what))

    def translate(self, exc: Exception, what: str) -> AlignSyncError:
        """A failure of gspread or google-auth, read out for `connectors.http`."""
        # lazy: as in `open`
        from google.auth.exceptions import RefreshError, TransportError
        from gspread.exceptions import APIError
        who = self.identity
        if isinstance(exc, TransportError) and who is not None:
            # google-auth's own transport failed: the token request, not the sheet.
            return remote.network_error("sheets", f"{what} (getting a token for "
                                        f"{who.share_with()}, {who.where})",
                                        exc, redact=self.runtime.redactor)
        if isinstance(exc, (TransportError, requests.ConnectionError, requests.Timeout)):
            return remote.network_error("sheets", what, exc, redact=self.runtime.redactor)
        if isinstance(exc, RefreshError):
            return refused_token(exc, who, what)
        if not isinstance(exc, APIError):
            return RemoteError(f"Google Sheets {what}: unexpected {type(exc).__name__}")
        error = exc.error or {}
        return remote.status_error("sheets", exc.response.status_code, what=what,
                                   text=str(error.get("message", "")),
                                   variant="scope" if "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in json.dumps(error)
                                   else "",
                                   retry_after=remote.retry_after(exc.response.headers.get("Retry-After")),
                                   redact=self.runtime.redactor, id=self.spreadsheet,
                                   email=who.share_with() if who else "the service account",
                                   auth_key=who.where if who else "sink.credentials")
