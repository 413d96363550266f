"""Sending an email target's message over SMTP (STARTTLS or SSL), with the
same rules as a webhook: one deadline for the whole delivery, retries and
waits included, and any failure is the target's, with a one-line reason.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from sync.core.errors import ConfigError, RemoteError, TransientError
from connectors.notify.targets import EmailTarget
from sync.worker.runtime import Runtime

from connectors import http as remote
from connectors.notify.webhook import DEADLINE, Guard


def _login(client: smtplib.SMTP, target: EmailTarget) -> None:
    """One AUTH PLAIN when offered (smtplib's login() would try each
    mechanism in turn after a refusal, for the same wrong password)."""
    client.ehlo_or_helo_if_needed()
    offered = (client.esmtp_features.get("auth") or "").upper().split()
    if "PLAIN" not in offered:
        client.login(target.username, target.password or "")
        return
    client.user, client.password = target.username, target.password or ""
    client.auth("PLAIN", client.auth_plain)


def _send_once(target: EmailTarget, message: EmailMessage, label: str, where: str, guard: Guard) -> None:
    host, _, port = target.smtp.rpartition(":")
    context = ssl.create_default_context()
    wait = max(0.01, min(DEADLINE, guard.remaining()))
    try:
        if target.ssl:
            client = smtplib.SMTP_SSL(host, int(port), timeout=wait, context=context)
        else:
            client = smtplib.SMTP(host, int(port), timeout=wait)
        guard.watch(client.sock)
        try:
            if target.starttls and not target.ssl:
                client.starttls(context=context)
            if target.username:
                _login(client, target)
            client.send_message(message)
            client.quit()
        finally:
            client.close()       # after a refusal, no QUIT: a server may not answer it
    except smtplib.SMTPAuthenticationError as exc:
        raise RemoteError(f"{label}: the server refused the login ({exc.smtp_code})",
                          hint=f"check {where} username and password")
    except smtplib.SMTPNotSupportedError:
        raise ConfigError(f"{label}: the server offers no STARTTLS",
                          hint="set ssl: true (port 465), or starttls: false on a trusted network")
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TransientError(f"{label}: SMTP {exc.smtp_code}")
        raise RemoteError(f"{label}: SMTP {exc.smtp_code} {remote.one_line(str(exc.smtp_error), 80)!r}",
                          hint=f"check {where} from and to")
    except ssl.SSLCertVerificationError as exc:
        raise RemoteError(f"{label}: the server's certificate did not verify ({exc.reason})")
    except OSError as exc:           # refused, dropped, timed out (smtplib's own errors are OSErrors)
        if guard.remaining() <= 0:
            raise TransientError(f"{label}: no answer within the {DEADLINE:g} s delivery deadline")
        raise TransientError(f"{label}: {type(exc).__name__}" + (f" ({exc.strerror.lower()})"
                                                                  if exc.strerror else ""))


def send(target: EmailTarget, message: EmailMessage, *, label: str, where: str, runtime: Runtime,
         seconds: float = DEADLINE) -> None:
    """Deliver `message`; raises AlignSyncError (starting with `label`), never anything else."""
    guard = Guard(allow_private=True, seconds=seconds)
    guard.run("smtp", lambda: _send_once(target, message, label, where, guard), label=label,
              runtime=runtime)
