"""Delivering alerts (a sync that keeps failing, and its recovery) to the
same targets the review uses: each channel is the review's notifier, with its
retries, deadlines and error words, sending an alert body instead of a
digest.  The words come from `sync.core.present.alerts.render`.
"""
from __future__ import annotations

import html
from email.message import EmailMessage

from sync.core.present.alerts import RECOVERED, Message, render
from connectors.notify.targets import SECRETS, EmailTarget, SlackTarget, TeamsTarget

from connectors.notify.deliver import EmailNotifier, SlackNotifier, TeamsNotifier


class _Alerting:
    """What every alert channel shares: its failures name alerts.notify."""
    where = "alerts.notify (or review.notify)"


class SlackAlert(_Alerting, SlackNotifier):
    def send(self, m: Message, sheet: str = "") -> None:
        title, text = render(m)
        icon = ":white_check_mark:" if m.kind == RECOVERED else ":rotating_light:"
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                  {"type": "section", "text": {"type": "plain_text", "text": text[:2900]}}]
        self.post({"text": f"{icon} {title}", "blocks": blocks})


class TeamsAlert(_Alerting, TeamsNotifier):
    def send(self, m: Message, sheet: str = "") -> None:
        title, text = render(m)
        card = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "version": "1.4", "body": [
                    {"type": "TextBlock", "size": "Large", "weight": "Bolder", "text": title, "wrap": True},
                    {"type": "TextBlock", "text": text, "wrap": True}]}
        if m.sheet.startswith("http"):
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the sheet", "url": m.sheet}]
        self.post({"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]})


class EmailAlert(_Alerting, EmailNotifier):
    def send(self, m: Message, sheet: str = "") -> None:
        self.post(self.message(m))

    def message(self, m: Message, sheet: str = "") -> EmailMessage:
        title, text = render(m)
        msg = EmailMessage()
        msg["Subject"] = title
        msg["From"] = self.target.sender
        msg["To"] = ", ".join(self.target.to)
        msg.set_content(text)
        msg.add_alternative("<p>" + "<br>".join(html.escape(line) for line in text.splitlines()) + "</p>",
                            subtype="html")
        return msg


def register(registry) -> None:
    registry.add("alert", "slack", SlackTarget, SlackAlert, secrets=SECRETS["slack"])
    registry.add("alert", "teams", TeamsTarget, TeamsAlert, secrets=SECRETS["teams"])
    registry.add("alert", "email", EmailTarget, EmailAlert, secrets=SECRETS["email"])
