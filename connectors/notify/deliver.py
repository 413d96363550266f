"""Delivering to a `notify` target: `deliver(target, payload, runtime)` for
anything that tells people (the review now, alerts too), and the review's
own messages: a Slack incoming webhook (Block Kit), a Microsoft Teams
workflow webhook (an Adaptive Card), and email (plain text and HTML).

`deliver` never raises: a target that cannot be reached, refuses, redirects,
times out or fails in any other way gives a `Delivery` that says why in one
line (secrets redacted), and the caller carries on with the next target.
The transports (connectors.notify.webhook, connectors.notify.smtp) hold the
safety rules: checked addresses, no redirects, a 64 KiB answer cap, one
30 s deadline.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

from sync.core.errors import AlignSyncError, RemoteError, describe
from sync.core.present.review import TEAM, Digest
from sync.core.present.review_lines import by_kind, loop_lines, outlook
from sync.core.present.review_text import render_text
from connectors.notify.targets import SECRETS, EmailTarget, SlackTarget, TeamsTarget
from sync.worker.runtime import Runtime

from connectors.http import one_line
from connectors.notify import smtp, webhook

_SLACK_GONE = {"no_service", "channel_is_archived", "invalid_token", "no_team", "team_disabled"}
_SLACK_PAYLOAD = {"invalid_payload", "no_text", "too_many_attachments"}
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




@dataclass(frozen=True)
class Delivery:
    """What became of one delivery to one target."""
    target: str                              # the target's id (what state keys deliveries by)
    label: str                               # how messages name the target, without its secret
    error: AlignSyncError | None = None      # None: delivered

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def reason(self) -> str:
        """One line saying why it failed, starting with the label ("" when delivered)."""
        if self.error is None:
            return ""
        text = one_line(describe(self.error), 400)
        return text if text.startswith(self.label) else f"{self.label}: {text}"


def label(target) -> str:
    if isinstance(target, EmailTarget):
        return f"email via {target.smtp}"
    return f"{target.type} webhook ({urlsplit(target.webhook).hostname})"


def _slack_variant(status: int, text: str) -> str:
    """Slack says why in a word of the body (the status alone: see connectors.http)."""
    if text in _SLACK_GONE:
        return "revoked"
    return "payload" if text in _SLACK_PAYLOAD else ""


def deliver(target: SlackTarget | TeamsTarget | EmailTarget, payload: dict | EmailMessage,
            runtime: Runtime, where: str = "review.notify") -> Delivery:
    """Send `payload` to `target` once, within one 30 s deadline (retries
    included).  `payload`: the JSON body for a webhook; for email an
    EmailMessage (From and To are filled from the target when missing).
    A JSON payload's strings are redacted on the way out; an email's text
    must be built from redacted text (describe() through runtime.redactor).
    `where`: the config key people fix the target under, for the hints."""
    name = label(target)
    secret = target.password if isinstance(target, EmailTarget) else target.webhook
    runtime.redactor.add([secret or ""])
    try:
        if isinstance(target, EmailTarget):
            if not payload.get("From"):
                payload["From"] = target.sender
            if not payload.get("To"):
                payload["To"] = ", ".join(target.to)
            smtp.send(target, payload, label=name, where=where, runtime=runtime)
        else:
            webhook.post(target.webhook, runtime.redactor.scrub(payload), service=target.type, label=name, where=where,
                         allow_private=target.allow_private, runtime=runtime,
                         variant=_slack_variant if target.type == "slack" else lambda status, text: "")
    except AlignSyncError as exc:
        return Delivery(target.id, name, exc)
    except Exception as exc:                 # a bug of ours is still this target's failure, not the sync's
        return Delivery(target.id, name, RemoteError(f"{name}: {type(exc).__name__}"))
    return Delivery(target.id, name)


class _Notifier:
    """The review, as one target's message (built by the registry).  A
    subclass sending something else (an alert) overrides `send` or `body`,
    calls `post`, and sets `where`."""
    where = "review.notify"            # the config key a person fixes the target under

    def __init__(self, target, runtime: Runtime):
        self.target, self.runtime = target, runtime
        self.id = target.id
        self.label = label(target)

    def post(self, payload: dict | EmailMessage) -> None:
        """Deliver `payload` now; a failure raises the target's error (an
        AlignSyncError whose message starts with the label), nothing else."""
        result = deliver(self.target, payload, self.runtime, self.where)
        if not result.ok:
            raise result.error

    def send(self, d: Digest, sheet: str) -> None:
        self.post(self.body(d, sheet))


class SlackNotifier(_Notifier):
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
            if r.standing:                 # a breach stays in every review until it is gone
                line += f"\nstill open: {by_kind(r.standing)}"
            line += f"\n{outlook(r)}"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
        top = _top_new(d)
        if top:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                        "text": "*New warnings*\n" + "\n".join(f"• {t}" for t in top)}})
        if sheet.startswith("http"):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{sheet}|Open the sheet>"}})
        return {"text": f"Weekly review {d.id[:10]}", "blocks": blocks}


class TeamsNotifier(_Notifier):
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
            if r.standing:
                facts.append({"title": "Still open", "value": by_kind(r.standing)})
            items += [{"type": "TextBlock", "weight": "Bolder", "text": title, "wrap": True},
                      {"type": "FactSet", "facts": facts}]
        card = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "version": "1.4", "body": items}
        if sheet.startswith("http"):
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the sheet", "url": sheet}]
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}


class EmailNotifier(_Notifier):
    def body(self, d: Digest, sheet: str) -> EmailMessage:
        return self.message(d, sheet)

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


def register(registry) -> None:
    registry.add("notify", "slack", SlackTarget, SlackNotifier, secrets=SECRETS["slack"])
    registry.add("notify", "teams", TeamsTarget, TeamsNotifier, secrets=SECRETS["teams"])
    registry.add("notify", "email", EmailTarget, EmailNotifier, secrets=SECRETS["email"])
