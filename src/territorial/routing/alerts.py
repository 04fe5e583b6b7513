"""Delivering alerts from the outbox: webhooks (HTTP POST) and e-mail (SMTP).

An alert row is written in the same transaction as the decision that raised it, so
it exists if and only if the decision does. The worker here picks due rows, tries
to deliver them, and on failure schedules the next attempt with exponential
backoff (``base_delay * 2**(attempts-1)``, capped). After ``max_attempts`` the row
is marked ``failed`` — kept, never deleted, visible in ``GET /api/alerts`` — so no
alert is ever silently lost.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookTargetError(ValueError):
    """A webhook URL that points at an address alerts may not reach."""


def _address_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address, or ``None`` when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def _addresses(host: str, *, resolve: bool) -> list[IPAddress]:
    flags = 0 if resolve else socket.AI_NUMERICHOST
    try:
        infos = socket.getaddrinfo(host, None, flags=flags)
    except socket.gaierror:
        if resolve:
            raise WebhookTargetError(f"webhook host {host!r} cannot be resolved") from None
        return []
    out = []
    for info in infos:
        try:
            out.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    return out


def check_webhook_target(
    url: str, *, allowed: Iterable[Network] = (), resolve: bool = False
) -> None:
    """Refuse a webhook URL that reaches a loopback, link-local, private or reserved address.

    ``allowed`` networks (setting ``webhook_allowed_networks``) are let through. Without
    ``resolve`` only literal addresses (``127.0.0.1``, ``2130706433``, ``[::1]``) and
    ``localhost`` names are checked (no DNS look-up: rules uploads stay fast and
    offline); at delivery the host is resolved and every address it gives is checked.
    Raises :class:`WebhookTargetError` naming the host, the address and why.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookTargetError("webhook must be an http(s) URL")
    host = (parts.hostname or "").strip().lower().rstrip(".")
    if not host:
        raise WebhookTargetError("webhook URL has no host")
    networks = tuple(allowed)
    if host == "localhost" or host.endswith(".localhost"):
        candidates: list[IPAddress] = [ipaddress.ip_address("127.0.0.1")]
    else:
        candidates = _addresses(host, resolve=resolve)
    for ip in candidates:
        kind = _address_kind(ip)
        if kind is None or any(ip in net for net in networks):
            continue
        raise WebhookTargetError(
            f"webhook host {host!r} is a {kind} address ({ip}); alerts go only to public "
            "addresses unless the setting webhook_allowed_networks "
            "(TERRITORIAL_WEBHOOK_ALLOWED_NETWORKS) allows that network"
        )


def webhook_sender(
    client: httpx.Client | None = None,
    *,
    timeout: float = 5.0,
    allowed_networks: Iterable[Network] = (),
    check_targets: bool = True,
) -> Sender:
    """POST the alert payload as JSON to the alert's URL; any non-2xx answer is a failure.

    Before each POST the host is resolved and refused when it reaches a loopback,
    link-local, private or reserved address not in ``allowed_networks`` (the refusal
    is a failed attempt, kept in the outbox with its reason). Redirects are not
    followed.
    """
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    networks = tuple(allowed_networks)

    def send(alert: Mapping[str, Any]) -> None:
        if check_targets:
            check_webhook_target(alert["target"], allowed=networks, resolve=True)
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
    senders: dict[str, Sender] = {
        "webhook": webhook_sender(allowed_networks=settings.webhook_networks)
    }
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
