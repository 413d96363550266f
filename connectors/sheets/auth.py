"""Who the Sheets sink is to Google: one of four identities, each one of
google-auth's own credential classes (no token code here).

- `key_file`: a service-account JSON key (a path, or the JSON itself from an
  environment variable); the bare `credentials:` key means this.
- `adc: true`: Application Default Credentials — GKE/Cloud Run workload
  identity or the GCE metadata server, a workload-identity-federation file
  (`external_account`), or gcloud's own login.
- `adc: true` + `impersonate: SA`: the ADC identity mints short-lived tokens
  for that service account through the IAM Credentials API; no key exists.
- `authorized_user: FILE`: a person's OAuth credential written by
  `align-sync auth google` (connectors/sheets/consent.py).

Every identity asks for the Sheets scope alone.  The sheet is shared with an
email address: `Identity.share_with()` says which, for `check` and for the
403 hint.  Refresh tokens, client secrets and private keys join the redactor
the moment they are read.

The token request is tried once per call: retries are ours
(`connectors.http.call`), not google-auth's.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import model_validator

from sync.core.config import FilePath, Strict
from sync.core.errors import AlignSyncError, ConfigError, RemoteError, TransientError
from sync.worker.runtime import Runtime

from connectors.files.source import beside_config

if TYPE_CHECKING:
    from google.auth.transport.requests import Request

SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
SCOPES = [SHEETS_SCOPE]
# The impersonating identity calls the IAM Credentials API, which takes this scope.
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
_REQUIRED = ("type", "client_email", "private_key", "token_uri")
_SA_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.gserviceaccount\.com$")


class GoogleAuth(Strict):
    key_file: FilePath | None = None
    adc: bool = False
    impersonate: str | None = None
    authorized_user: FilePath | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> "GoogleAuth":
        chosen = [k for k in ("key_file", "adc", "authorized_user") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError("give exactly one of key_file: FILE, adc: true or authorized_user: FILE"
                             + (f" (got {', '.join(chosen)})" if chosen else ""))
        if self.impersonate is not None:
            if not self.adc:
                raise ValueError("impersonate goes with adc: true (the ADC identity mints the "
                                 "service account's tokens)")
            if not _SA_EMAIL.match(self.impersonate):
                raise ValueError("impersonate: expected a service account's email, such as "
                                 f"align-sync@PROJECT.iam.gserviceaccount.com, got {self.impersonate!r}")
        return self


def auth_of(config) -> tuple[GoogleAuth, str]:
    """The sink's identity block, and the config key it came from."""
    if config.auth is not None:
        return config.auth, "sink.auth"
    return GoogleAuth(key_file=config.credentials), "sink.credentials"


@dataclass
class Identity:
    credentials: Any              # a google.auth.credentials.Credentials
    mode: str                     # key_file | adc | impersonate | authorized_user
    where: str                    # the config key, for messages
    unknown: str                  # whom to share with, in words, while no email is known

    def email(self) -> str:
        """The principal's email once google-auth knows it (the metadata
        server's account is named only after its first token)."""
        email = getattr(self.credentials, "service_account_email", None)
        if isinstance(email, str) and "@" in email:
            return email
        account = getattr(self.credentials, "account", "")
        return account if isinstance(account, str) and "@" in account else ""

    def share_with(self) -> str:
        return self.email() or self.unknown


def identity(config, runtime: Runtime, request: Request) -> Identity:
    """The sink's credentials as google-auth builds them; `request` is the
    transport used to detect ADC (the metadata server) and mint tokens."""
    auth, where = auth_of(config)
    # Relative paths: the working directory first, then the config file's folder.
    if auth.key_file and not auth.key_file.lstrip().startswith("{"):
        auth = auth.model_copy(update={"key_file": str(beside_config(auth.key_file, runtime.base_dir))})
    if auth.authorized_user:
        auth = auth.model_copy(update={"authorized_user": str(beside_config(auth.authorized_user,
                                                                            runtime.base_dir))})
    if auth.key_file:
        key_where = where if where == "sink.credentials" else f"{where}.key_file"
        info = load_key(auth.key_file, key_where, runtime)
        # lazy: google-auth (about 0.3 s to import) loads only when a Google Sheets sink connects
        from google.oauth2 import service_account
        try:
            creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{key_where}: the service-account key does not load "
                              f"({str(exc).splitlines()[0][:200]})")
        return Identity(creds, "key_file", key_where, info["client_email"])
    if auth.authorized_user:
        return _user(auth.authorized_user, f"{where}.authorized_user", runtime)
    return _adc(auth, where, request)


def _adc(auth: GoogleAuth, where: str, request: Request) -> Identity:
    # lazy: google-auth (about 0.3 s to import) loads only when a Google Sheets sink connects
    import google.auth
    from google.auth import impersonated_credentials
    from google.auth.exceptions import DefaultCredentialsError
    try:
        creds, _project = google.auth.default(
            scopes=[CLOUD_PLATFORM] if auth.impersonate else SCOPES, request=request)
    except DefaultCredentialsError as exc:
        raise ConfigError(f"{where}.adc: no Application Default Credentials here "
                          f"({str(exc).splitlines()[0][:160]})",
                          hint="on GKE, Cloud Run or a VM attach a service account; elsewhere set "
                               "GOOGLE_APPLICATION_CREDENTIALS to a workload-identity-federation "
                               "file, or run `gcloud auth application-default login`")
    if auth.impersonate:
        target = impersonated_credentials.Credentials(
            source_credentials=creds, target_principal=auth.impersonate, target_scopes=SCOPES,
            lifetime=3600)
        return Identity(target, "impersonate", f"{where}.impersonate", auth.impersonate)
    kind = type(creds).__module__
    if "compute_engine" in kind:
        unknown = "the service account attached to this VM, pod or Cloud Run service"
    elif "external_account" in kind or "identity_pool" in kind or "aws" in kind:
        unknown = ("nobody: a federated identity has no email a sheet can be shared with; "
                   "add impersonate: with a service account")
    else:
        unknown = "the Google account that ran `gcloud auth application-default login`"
    return Identity(creds, "adc", f"{where}.adc", unknown)


def _user(path: str, where: str, runtime: Runtime) -> Identity:
    info = _json_file(path, where, "an OAuth user credential written by `align-sync auth google`")
    runtime.redactor.add([str(info.get("refresh_token") or ""), str(info.get("client_secret") or "")])
    if info.get("type", "authorized_user") != "authorized_user":
        raise ConfigError(f"{where} ({path}): `type` is {info.get('type')!r}; expected "
                          "'authorized_user'", hint="write it with `align-sync auth google`")
    # lazy: google-auth (about 0.3 s to import) loads only when a Google Sheets sink connects
    from google.oauth2 import credentials as user_credentials
    try:
        creds = user_credentials.Credentials.from_authorized_user_info(info)
    except ValueError as exc:
        raise ConfigError(f"{where} ({path}): {str(exc).splitlines()[0][:160]}",
                          hint="write it again with `align-sync auth google`")
    return Identity(creds, "authorized_user", where,
                    "the Google account that ran `align-sync auth google`")


def _json_file(raw: str, where: str, expected: str) -> dict:
    """A JSON object: the text itself when it starts with `{` (from an env
    var), else the file it names."""
    raw = raw.strip()
    if not raw.startswith("{"):
        where = f"{where} ({raw})"
        try:
            with open(os.path.expanduser(raw), encoding="utf-8") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read the file ({exc.strerror})")
    try:
        info = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not JSON (line {exc.lineno}); expected {expected}")
    if not isinstance(info, dict):
        raise ConfigError(f"{where}: expected a JSON object: {expected}")
    return info


def load_key(raw: str, where: str, runtime: Runtime) -> dict:
    """The service-account key: a file path, or the JSON itself (from an env var)."""
    info = _json_file(raw, where, "a service-account key file downloaded from Google Cloud → "
                                  "IAM → Service accounts → Keys")
    if not raw.strip().startswith("{"):
        where = f"{where} ({raw.strip()})"
    runtime.redactor.add([info.get("private_key") or "", info.get("private_key_id") or ""])
    missing = [k for k in _REQUIRED if not info.get(k)]
    if missing:
        raise ConfigError(f"{where}: the key has no {', '.join(missing)}",
                          hint="download a new JSON key for the service account")
    if info["type"] != "service_account":
        raise ConfigError(f"{where}: `type` is {info['type']!r}; expected 'service_account' "
                          "(for a user credential use auth: {authorized_user: FILE})")
    if "BEGIN PRIVATE KEY" not in info["private_key"]:
        raise ConfigError(f"{where}: `private_key` is not a PEM private key")
    return info


MODES = {"key_file": "service-account key", "adc": "Application Default Credentials",
          "impersonate": "impersonated through Application Default Credentials",
          "authorized_user": "a person's OAuth credential"}


def refused_token(exc: Exception, identity, what: str) -> AlignSyncError:
    """A token google-auth could not get (RefreshError), by identity: what to fix."""
    text = str(exc)
    mode = identity.mode if identity else "key_file"
    where = identity.where if identity else "sink.credentials"
    if mode == "impersonate" and ("PERMISSION_DENIED" in text or "403" in text):
        return RemoteError(f"Google refused to mint tokens for {identity.share_with()} "
                           "(IAM Credentials: permission denied)",
                           hint="grant the ADC identity the Service Account Token Creator role "
                                "(roles/iam.serviceAccountTokenCreator) on that service account, "
                                "and enable the IAM Service Account Credentials API")
    if "invalid_grant" in text or "invalid_client" in text or "unauthorized_client" in text:
        fix = {"authorized_user": "the person's consent was revoked or expired (a consent screen "
                                  "in Testing expires it after 7 days); run `align-sync auth google` "
                                  "again",
               "key_file": "the key was deleted or disabled; create a new key"}
        return RemoteError(f"Google refused the credential of {where} (token request: "
                           f"{text.split(',')[0][:120]})",
                           hint=fix.get(mode, "check the identity's grants"))
    return TransientError(f"Google Sheets {what}: token refresh failed ({where})")


def token_request(session):
    """The token requests (token endpoint, metadata server, IAM Credentials),
    tried once.  google-auth would retry a 429/5xx from the token endpoint
    three times with its own sleeps, under our five: such an answer becomes a
    TransportError instead, which `retry` waits on and counts like any other
    failure."""
    # lazy: google-auth (about 0.3 s to import) loads only when a Google Sheets sink connects
    from google.auth.exceptions import TransportError
    from google.auth.transport import DEFAULT_RETRYABLE_STATUS_CODES as RETRYABLE
    from google.auth.transport.requests import Request

    class TokenRequest(Request):
        def __call__(self, *args, **kwargs):
            response = super().__call__(*args, **kwargs)
            if response.status in RETRYABLE:
                raise TransportError(f"token endpoint answered HTTP {response.status}")
            return response
    return TokenRequest(session)
