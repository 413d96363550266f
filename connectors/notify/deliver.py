"""Delivering the review (PRODUCT.md §9): a Slack incoming webhook (Block
Kit), a Microsoft Teams workflow webhook (an Adaptive Card), and email over
SMTP (STARTTLS or SSL; plain text and HTML).

Webhook posts go through `retry.call` like every request: 429, 5xx and
dropped connections are retried, honouring `Retry-After`; any other 4xx says
what to fix.  A webhook URL is a secret: no message repeats it.
"""
from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage

import requests

from sync.core.errors import AlignSyncError, ConfigError, RemoteError, TransientError
from sync.core.review import TEAM, Digest, by_kind, loop_lines, outlook, render_text
from sync.worker.runtime import Runtime
from sync.core.targets import EmailTarget, SlackTarget, TeamsTarget

from connectors import retry

TIMEOUT = (5, 30)
STATUS_EMOJI = {"on track": ":large_green_circle:", "done": ":white_check_mark:",
                "at risk": ":large_orange_circle:", "off track": ":red_circle:", "no data": ":white_circle:"}


def _number(value, suffix="%") -> str:
    return "n/a" if value is None else f"{value:g}{suffix}"


def _delta(value) -> str:
    return "" if value is None else f" ({value:+g})"


def _top_new(d: Digest, limit: int = 5) -> list[str]:
    team = next(r for r in d.rows if r.outcome_id == TEAM)
    return [f"{kind}: {len(keys)}" + (f" ({', '.join(k for k in keys[:5] if k)})" if any(keys) else "")
            for kind, keys in sorted(team.new_warnings.items(), key=lambda kv: -len(kv[1]))[:limit]]


class _Webhook:
    service = "webhook"

    def __init__(self, target, runtime: Runtime):
        self.target, self.runtime = target, runtime
        self.id = target.id
        self.label = f"{target.type} webhook ({self.id.split(':', 1)[1].split('#')[0]})"
        self.session = requests.Session()
        self.session.hooks["response"].append(runtime.telemetry.response_hook(self.service))
        runtime.redactor.add([target.webhook])

    def post(self, body: dict) -> requests.Response:
        def once():
            try:
                response = self.session.post(self.target.webhook, json=body, timeout=TIMEOUT)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise TransientError(f"{self.label}: {type(exc).__name__}")
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientError(f"{self.label}: HTTP {response.status_code}",
                                     retry_after=retry.retry_after(response.headers.get("Retry-After")))
            if response.status_code >= 400:
                raise self.refused(response)
            return response
        return retry.call(self.service, once, runtime=self.runtime)

    def refused(self, response: requests.Response) -> AlignSyncError:
        return RemoteError(f"{self.label} refused the review (HTTP {response.status_code}: "
                           f"{response.text[:120]})", hint="check review.notify")


class SlackNotifier(_Webhook):
    service = "slack"

    def refused(self, response):
        text = response.text.strip()
        if response.status_code in (404, 410) or text in ("no_service", "channel_is_archived",
                                                           "invalid_token", "no_team", "team_disabled"):
            return RemoteError(f"{self.label}: the webhook was revoked or its channel archived "
                               f"(HTTP {response.status_code} {text[:60]})",
                               hint="create a new incoming webhook and update review.notify")
        if text in ("invalid_payload", "no_text", "too_many_attachments"):
            return RemoteError(f"{self.label}: Slack refused the message ({text})")
        return super().refused(response)

    def body(self, d: Digest, sheet: str) -> dict:
        blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": f"Weekly review {d.id[:10]}"}}]
        for r in d.rows:
            if r.outcome_id == TEAM:
                line = f"*Team*: aligned effort {_number(r.aligned)}{_delta(r.aligned_change)}, {len(r.done)} done"
            else:
                was = f" (was {r.previous_status})" if r.previous_status and r.previous_status != r.status else ""
                line = (f"{STATUS_EMOJI.get(r.status, '')} *{r.name}*: {r.status}{was}\n"
                        f"progress {_number(r.progress)}{_delta(r.progress_change)}, aligned effort "
                        f"{_number(r.aligned)}{_delta(r.aligned_change)}, {len(r.done)} done"
                        + "".join(f"\n{line}" for line in loop_lines(r)))
            line += f"\n{outlook(r)}"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
        top = _top_new(d)
        if top:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                        "text": "*New warnings*\n" + "\n".join(f"• {t}" for t in top)}})
        if sheet.startswith("http"):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{sheet}|Open the sheet>"}})
        return {"text": f"Weekly review {d.id[:10]}", "blocks": blocks}

    def send(self, d: Digest, sheet: str) -> None:
        self.post(self.body(d, sheet))


class TeamsNotifier(_Webhook):
    service = "teams"

    def refused(self, response):
        if response.status_code in (401, 403, 404, 410):
            return RemoteError(f"{self.label}: the workflow webhook was removed or disabled "
                               f"(HTTP {response.status_code})",
                               hint="recreate the Teams workflow and update review.notify")
        return super().refused(response)

    def body(self, d: Digest, sheet: str) -> dict:
        items: list[dict] = [{"type": "TextBlock", "size": "Large", "weight": "Bolder",
                              "text": f"Weekly review {d.id[:10]}"}]
        for r in d.rows:
            title = "Team" if r.outcome_id == TEAM else f"{r.name}: {r.status}"
            facts = [{"title": "Aligned effort", "value": f"{_number(r.aligned)}{_delta(r.aligned_change)}"},
                     {"title": "Tickets done", "value": str(len(r.done))}]
            if r.outcome_id != TEAM:
                facts.insert(0, {"title": "Progress", "value": f"{_number(r.progress)}{_delta(r.progress_change)}"})
            if r.forecast:
                facts.append({"title": "Forecast", "value": r.forecast})
            facts.append({"title": "Done by (85%)", "value": r.done_by or "no done date yet"})
            if r.new_warnings:
                facts.append({"title": "New warnings", "value": by_kind(r.new_warnings)})
            facts += [{"title": title.capitalize(), "value": value}
                      for title, value in (line.split(": ", 1) for line in loop_lines(r))]
            items += [{"type": "TextBlock", "weight": "Bolder", "text": title, "wrap": True},
                      {"type": "FactSet", "facts": facts}]
        card = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "version": "1.4", "body": items}
        if sheet.startswith("http"):
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the sheet", "url": sheet}]
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}

    def send(self, d: Digest, sheet: str) -> None:
        self.post(self.body(d, sheet))


class EmailNotifier:
    def __init__(self, target: EmailTarget, runtime: Runtime):
        self.target, self.runtime = target, runtime
        self.id = target.id
        self.label = f"email via {target.smtp}"
        runtime.redactor.add([target.password or ""])

    def message(self, d: Digest, sheet: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"Weekly review {d.id[:10]}"
        msg["From"] = self.target.sender
        msg["To"] = ", ".join(self.target.to)
        text = render_text(d, sheet)
        msg.set_content(text)
        rows = "".join(
            f"<tr><td>{html.escape(r.name)}</td><td>{html.escape(r.status or '')}</td>"
            f"<td>{_number(r.progress)}{_delta(r.progress_change)}</td>"
            f"<td>{_number(r.aligned)}{_delta(r.aligned_change)}</td><td>{len(r.done)}</td>"
            f"<td>{html.escape(by_kind(r.new_warnings) or '')}</td>"
            f"<td>{html.escape(outlook(r))}</td></tr>" for r in d.rows)
        link = f'<p><a href="{html.escape(sheet)}">Open the sheet</a></p>' if sheet.startswith("http") else ""
        msg.add_alternative(
            f"<h2>Weekly review {html.escape(d.id[:10])}</h2><table><tr><th>Outcome</th><th>Status</th>"
            f"<th>Progress</th><th>Aligned effort</th><th>Done</th><th>New warnings</th>"
            f"<th>Outlook</th></tr>{rows}"
            f"</table>{link}", subtype="html")
        return msg

    def _login(self, client: smtplib.SMTP) -> None:
        """One AUTH PLAIN when offered (smtplib's login() would try each
        mechanism in turn after a refusal, for the same wrong password)."""
        client.ehlo_or_helo_if_needed()
        offered = (client.esmtp_features.get("auth") or "").upper().split()
        if "PLAIN" not in offered:
            client.login(self.target.username, self.target.password or "")
            return
        client.user, client.password = self.target.username, self.target.password or ""
        client.auth("PLAIN", client.auth_plain)

    def send(self, d: Digest, sheet: str) -> None:
        def once():
            host, _, port = self.target.smtp.rpartition(":")
            context = ssl.create_default_context()
            try:
                if self.target.ssl:
                    client = smtplib.SMTP_SSL(host, int(port), timeout=30, context=context)
                else:
                    client = smtplib.SMTP(host, int(port), timeout=30)
                try:
                    if self.target.starttls and not self.target.ssl:
                        client.starttls(context=context)
                    if self.target.username:
                        self._login(client)
                    client.send_message(self.message(d, sheet))
                    client.quit()
                finally:
                    client.close()       # after a refusal, no QUIT: a server may not answer it
            except smtplib.SMTPAuthenticationError as exc:
                raise RemoteError(f"{self.label}: the server refused the login ({exc.smtp_code})",
                                  hint="check review.notify username and password")
            except smtplib.SMTPNotSupportedError:
                raise ConfigError(f"{self.label}: the server offers no STARTTLS",
                                  hint="set ssl: true (port 465), or starttls: false on a trusted network")
            except smtplib.SMTPResponseException as exc:
                if 400 <= exc.smtp_code < 500:
                    raise TransientError(f"{self.label}: SMTP {exc.smtp_code}")
                raise RemoteError(f"{self.label}: SMTP {exc.smtp_code} {exc.smtp_error[:80]!r}",
                                  hint="check review.notify from/to")
            except OSError as exc:           # refused, dropped, timed out (smtplib's own errors are OSErrors)
                if isinstance(exc, ssl.SSLCertVerificationError):
                    raise RemoteError(f"{self.label}: the server's certificate did not verify ({exc.reason})")
                raise TransientError(f"{self.label}: {type(exc).__name__}")
        retry.call("smtp", once, runtime=self.runtime)


def register(registry) -> None:
    registry.add("notify", "slack", SlackTarget, lambda t, runtime: SlackNotifier(t, runtime))
    registry.add("notify", "teams", TeamsTarget, lambda t, runtime: TeamsNotifier(t, runtime))
    registry.add("notify", "email", EmailTarget, lambda t, runtime: EmailNotifier(t, runtime))
