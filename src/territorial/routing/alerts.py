"""Delivering alerts from the outbox: webhooks (HTTP POST) and e-mail (SMTP).

An alert row is written in the same transaction as the decision that raised it, so
it exists if and only if the decision does. The worker here picks due rows, tries
to deliver them, and on failure schedules the next attempt with exponential
backoff (``base_delay * 2**(attempts-1)``, capped). After ``max_attempts`` the row
is marked ``failed`` — kept, never deleted, visible in ``GET /api/alerts`` — so no
alert is ever silently lost.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import Engine

from territorial.settings import Settings
from territorial.store import routing as store

log = logging.getLogger(__name__)

Sender = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    delivered: int
    retried: int
    failed: int
    skipped: int


def webhook_sender(client: httpx.Client | None = None, *, timeout: float = 5.0) -> Sender:
    """POST the alert payload as JSON to the alert's URL; any non-2xx answer is a failure."""
    http = client or httpx.Client(timeout=timeout)

    def send(alert: Mapping[str, Any]) -> None:
        response = http.post(alert["target"], json=alert["payload"])
        response.raise_for_status()

    return send


def smtp_sender(
    host: str,
    port: int = 25,
    *,
    sender: str = "territorial@localhost",
    username: str | None = None,
    password: str | None = None,
    starttls: bool = False,
    timeout: float = 10.0,
) -> Sender:
    """Send the alert as a plain-text e-mail through the SMTP server at ``host:port``.

    One connection per alert (alerts are rare; a failed one is retried on its own).
    With ``starttls`` the connection is upgraded to TLS (certificate checked) before
    logging in; with ``username`` the sender logs in. Any refusal — connection,
    TLS, login, a rejected recipient — raises, so the outbox retries it.
    """

    def send(alert: Mapping[str, Any]) -> None:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if username:
                smtp.login(username, password or "")
            smtp.send_message(alert_email(alert, sender=sender))

    return send


def alert_email(alert: Mapping[str, Any], *, sender: str) -> EmailMessage:
    """The e-mail of one outbox row: subject names the alert and territory, body the decision."""
    payload = alert["payload"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = alert["target"]
    message["Subject"] = f"[Territorial] {alert['alert']}: {payload.get('territory')}"
    message.set_content("\n".join(f"{k}: {v}" for k, v in payload.items() if v is not None))
    return message


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    """The senders the settings allow: webhooks always, e-mail when ``smtp_host`` is set."""
    senders: dict[str, Sender] = {"webhook": webhook_sender()}
    if settings.smtp_host:
        senders["email"] = smtp_sender(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    else:
        log.info("no SMTP host set (TERRITORIAL_SMTP_HOST): e-mail alerts stay queued")
    return senders


def backoff(attempts: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """Delay before attempt ``attempts + 1``: base, 2·base, 4·base ... at most ``cap``."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


def deliver_due_alerts(
    engine: Engine,
    *,
    senders: Mapping[str, Sender],
    now: datetime | None = None,
    limit: int = 50,
    max_attempts: int = 8,
    base_delay: timedelta = timedelta(seconds=30),
    max_delay: timedelta = timedelta(hours=1),
) -> DeliveryReport:
    """Try every due alert once. ``senders`` maps a channel ("webhook", "email") to a sender.

    Alerts of a channel without a sender stay pending (they are not attempts).
    """
    now = now or datetime.now(UTC)
    delivered = retried = failed = skipped = 0
    with engine.begin() as conn:
        for alert in store.due_alerts(conn, now=now, limit=limit):
            send = senders.get(alert["channel"])
            if send is None:
                skipped += 1
                continue
            attempts = alert["attempts"] + 1
            try:
                send(alert)
            except Exception as exc:  # any delivery failure is retried, never lost
                error = f"{type(exc).__name__}: {exc}"[:2000]
                if attempts >= max_attempts:
                    store.mark_alert(
                        conn,
                        outbox_id=alert["id"],
                        status="failed",
                        attempts=attempts,
                        now=now,
                        error=error,
                    )
                    failed += 1
                    log.warning(
                        "alert %s failed for good after %d attempts: %s",
                        alert["id"],
                        attempts,
                        error,
                    )
                else:
                    store.mark_alert(
                        conn,
                        outbox_id=alert["id"],
                        status="pending",
                        attempts=attempts,
                        now=now,
                        next_attempt_at=now + backoff(attempts, base=base_delay, cap=max_delay),
                        error=error,
                    )
                    retried += 1
                continue
            store.mark_alert(
                conn, outbox_id=alert["id"], status="delivered", attempts=attempts, now=now
            )
            delivered += 1
    return DeliveryReport(delivered, retried, failed, skipped)


class AlertWorker(threading.Thread):
    """Background thread delivering due alerts every ``interval`` seconds until stopped."""

    def __init__(
        self, engine: Engine, *, senders: Mapping[str, Sender], interval: float = 2.0
    ) -> None:
        super().__init__(name="territorial-alerts", daemon=True)
        self.engine = engine
        self.senders = senders
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                deliver_due_alerts(self.engine, senders=self.senders)
            except Exception:
                log.exception("alert delivery round failed; will retry")
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
