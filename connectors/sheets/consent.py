"""`align-sync auth google`: a person consents once, with Google's installed-app
flow (google-auth-oauthlib), and the refresh token it grants is written to a
file only its owner can read; `sink.auth.authorized_user` names that file.

Two ways to consent: a browser on this machine (a local redirect server on a
free port), or none (`--no-browser`, a server, a container): the address is
printed, the person opens it anywhere, and pastes back the address their
browser was sent to (or just its `code`).  Nothing here handles a token
itself: the flow fetches it, the credential class serialises it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlparse

from sync.core.errors import ConfigError, RemoteError

from connectors.sheets.auth import SCOPES

# Where Google sends the browser after consent when nothing listens here:
# a loopback address (allowed for Desktop clients), read back from the
# browser's address bar.
PASTE_REDIRECT = "http://127.0.0.1:1/"
WAIT = 600              # seconds the local redirect server waits for the browser


def consent(client_secrets: str, out: str, *, browser: bool = True,
            ask: Callable[[str], str] | None = None, say: Callable[[str], None] | None = None) -> Path:
    """Run the consent, write the credential to `out` (mode 0600), return its path.
    `ask`/`say`: the terminal (input/print, looked up when called)."""
    ask, say = ask or input, say or print
    # lazy: google-auth-oauthlib (0.15 s to import) is needed only by `align-sync auth google`
    from google_auth_oauthlib.flow import InstalledAppFlow
    try:
        flow = InstalledAppFlow.from_client_secrets_file(client_secrets, scopes=SCOPES)
    except OSError as exc:
        raise ConfigError(f"--client-secrets {client_secrets}: cannot read the file ({exc.strerror})")
    except ValueError as exc:
        raise ConfigError(f"--client-secrets {client_secrets}: not an OAuth client file ({exc})",
                          hint="download the JSON of an OAuth client of type Desktop app "
                               "(Google Cloud → APIs & Services → Credentials)")
    if browser:
        # lazy: as InstalledAppFlow above
        from google_auth_oauthlib.flow import WSGITimeoutError
        try:
            creds = flow.run_local_server(
                port=0, access_type="offline", prompt="consent", timeout_seconds=WAIT,
                authorization_prompt_message="Opening your browser to sign in; if it does not "
                                             "open, visit:\n{url}",
                success_message="align-sync has its access; you may close this tab.")
        except WSGITimeoutError:
            raise ConfigError(f"no answer from the browser within {WAIT // 60} minutes",
                              hint="run it again, or with --no-browser to paste the code instead")
    else:
        flow.redirect_uri = PASTE_REDIRECT
        url, state = flow.authorization_url(access_type="offline", prompt="consent")
        say("Open this address in a browser on any machine, sign in and allow access:\n\n"
            f"{url}\n\nThe browser then fails to open a 127.0.0.1 page: that is expected. Copy the "
            "whole address from its address bar (or just the code= part) and paste it here.")
        code = _code(ask("Address or code: ").strip(), state)
        try:
            flow.fetch_token(code=code)
        except Exception as exc:        # oauthlib's errors carry Google's words, never the code
            raise RemoteError(f"Google refused the code ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:120]})",
                              hint="run `align-sync auth google` again; a code works once, "
                                   "within minutes")
        creds = flow.credentials
    if not creds.refresh_token:
        raise RemoteError("Google granted no refresh token",
                          hint="remove align-sync's access at myaccount.google.com/permissions "
                               "and run `align-sync auth google` again")
    return write_private(out, creds.to_json(strip=["token", "expiry"]))


def _code(answer: str, state: str) -> str:
    if "code=" not in answer:
        if not answer:
            raise ConfigError("no code was pasted")
        return answer
    query = parse_qs(urlparse(answer).query)
    if query.get("state", [state])[0] != state:
        raise ConfigError("the pasted address belongs to another sign-in (its state differs)",
                          hint="paste the address from this run's consent")
    return query["code"][0]


def write_private(out: str, text: str) -> Path:
    """Write a secret file readable by its owner alone, replacing any old one."""
    path = Path(out).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)            # an existing file keeps its old mode otherwise
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)
    return path
