"""E-mail alerts delivered over real SMTP to a small server in the test, or kept queued."""

from __future__ import annotations

import base64
import email
import email.policy
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from territorial.routing.alerts import DeliveryReport, deliver_due_alerts, senders_from_settings
from territorial.routing.service import RoutingService
from territorial.settings import load_settings
from territorial.store import open_store

RULES = """
version: 1
name: e-mail alerts
regions:
  - id: west
    match: {state: [CA]}
    territories:
      - {id: west-all, name: All of the West, match: {}, owner: ann}
alerts:
  - {name: big deal, kinds: [opportunity], email: deals@example.com}
"""
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class Received:
    """One message the server accepted: envelope and the parsed message."""

    mail_from: str
    recipients: list[str]
    message: email.message.EmailMessage


@dataclass
class SMTPSink:
    """What a test SMTP server saw; ``credentials`` makes it require AUTH PLAIN."""

    credentials: tuple[str, str] | None = None
    refuse: frozenset[str] = frozenset()
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class SMTPServer(socketserver.ThreadingTCPServer):
    """A local SMTP server on a free port, recording into ``sink``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.sink = SMTPSink()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for ``smtplib``: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    server: SMTPServer

    def reply(self, *lines: str) -> None:
        self.wfile.write(b"".join(line.encode() + b"\r\n" for line in lines))

    def handle(self) -> None:
        sink = self.server.sink
        self.reply("220 sink.test ESMTP")
        mail_from, recipients, logged_in = "", [], sink.credentials is None
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                auth = ["250-AUTH PLAIN"] if sink.credentials else []
                self.reply("250-sink.test", *auth, "250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 sink.test")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(command.split()[2]).decode().split("\0")
                sink.logins.append(user)
                logged_in = (user, password) == sink.credentials
                self.reply("235 welcome" if logged_in else "535 bad credentials")
            elif verb == "MAIL":
                if not logged_in:
                    self.reply("530 authentication required")
                    continue
                mail_from, recipients = command.split("<", 1)[1].split(">", 1)[0], []
                self.reply("250 ok")
            elif verb == "RCPT":
                address = command.split("<", 1)[1].split(">", 1)[0]
                if address in sink.refuse:
                    self.reply(f"550 no mailbox {address}")
                    continue
                recipients.append(address)
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = email.message_from_bytes(bytes(data), policy=email.policy.default)
                assert isinstance(message, email.message.EmailMessage)
                sink.received.append(Received(mail_from, recipients, message))
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply(f"502 {verb} not implemented")


@pytest.fixture
def server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def engine(store_url: str) -> Engine:
    return open_store(store_url)


@pytest.fixture
def routed(engine: Engine) -> RoutingService:
    """An active rule set and one opportunity routed: one e-mail alert in the outbox."""
    service = RoutingService(engine, clock=lambda: NOW)
    service.activate(service.upload_rules(RULES)["id"])
    service.route({"id": "OPP-7", "state": "CA", "amount": 250000}, kind="opportunity")
    [row] = service.alerts(status=None, limit=5)
    assert row["channel"] == "email" and row["target"] == "deals@example.com"
    assert row["status"] == "pending"
    return service


def _deliver(engine: Engine, *, now: datetime = NOW, **smtp: object) -> DeliveryReport:
    """One delivery round with the senders ``load_settings(**smtp)`` gives."""
    senders = senders_from_settings(load_settings(**smtp))
    return deliver_due_alerts(engine, senders=senders, now=now, base_delay=timedelta(seconds=30))


def test_email_alert_arrives_with_subject_and_recipient(
    engine: Engine, routed: RoutingService, server: SMTPServer
) -> None:
    sink = server.sink
    report = _deliver(
        engine, smtp_host="127.0.0.1", smtp_port=server.port, smtp_from="routing@acme.test"
    )
    assert (report.delivered, report.retried) == (1, 0)
    [got] = sink.received
    assert got.mail_from == "routing@acme.test" and got.recipients == ["deals@example.com"]
    assert got.message["To"] == "deals@example.com"
    assert got.message["Subject"] == "[Territorial] big deal: west/All of the West"
    body = got.message.get_content()
    assert "record_id: OPP-7" in body and "owner_id: ann" in body
    [row] = routed.alerts(status="delivered", limit=5)
    assert row["attempts"] == 1 and row["last_error"] is None and row["delivered_at"] == NOW


def test_down_server_keeps_the_alert_queued_with_the_error(
    engine: Engine, routed: RoutingService, server: SMTPServer
) -> None:
    report = _deliver(engine, smtp_host="127.0.0.1", smtp_port=_closed_port())
    assert (report.delivered, report.retried) == (0, 1)
    [row] = routed.alerts(status="pending", limit=5)
    assert row["attempts"] == 1
    assert "ConnectionRefusedError" in row["last_error"]
    assert row["next_attempt_at"] == NOW + timedelta(seconds=30)
    # Not due again before the backoff; once the server is up, the same row goes out.
    sink = server.sink
    early = _deliver(engine, smtp_host="127.0.0.1", smtp_port=server.port)
    assert early.delivered == 0 and not sink.received
    later = NOW + timedelta(seconds=30)
    again = _deliver(engine, now=later, smtp_host="127.0.0.1", smtp_port=server.port)
    assert again.delivered == 1 and len(sink.received) == 1
    [done] = routed.alerts(status="delivered", limit=5)
    assert done["id"] == row["id"] and done["attempts"] == 2


@pytest.mark.parametrize(
    ("smtp", "error"),
    [
        ({"smtp_username": "router", "smtp_password": "wrong"}, "SMTPAuthenticationError"),
        ({}, "SMTPSenderRefused"),  # the server requires a login
        ({"smtp_starttls": True}, "SMTPNotSupportedError"),  # no STARTTLS offered
    ],
)
def test_refused_delivery_is_retried_not_lost(
    engine: Engine,
    routed: RoutingService,
    server: SMTPServer,
    smtp: dict[str, object],
    error: str,
) -> None:
    sink = server.sink
    sink.credentials = ("router", "s3cret")
    report = _deliver(engine, smtp_host="127.0.0.1", smtp_port=server.port, **smtp)
    assert report.retried == 1 and not sink.received
    [row] = routed.alerts(status="pending", limit=5)
    assert row["attempts"] == 1 and error in row["last_error"]


def test_login_with_the_configured_credentials(
    engine: Engine, routed: RoutingService, server: SMTPServer
) -> None:
    sink = server.sink
    sink.credentials = ("router", "s3cret")
    report = _deliver(
        engine,
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_username="router",
        smtp_password="s3cret",
    )
    assert report.delivered == 1 and sink.logins == ["router"]
    assert sink.received[0].recipients == ["deals@example.com"]


def test_refused_recipient_is_an_error(
    engine: Engine, routed: RoutingService, server: SMTPServer
) -> None:
    sink = server.sink
    sink.refuse = frozenset({"deals@example.com"})
    report = _deliver(engine, smtp_host="127.0.0.1", smtp_port=server.port)
    assert report.retried == 1
    [row] = routed.alerts(status="pending", limit=5)
    assert "SMTPRecipientsRefused" in row["last_error"] and "deals@example.com" in row["last_error"]


def test_without_smtp_host_email_alerts_wait_untouched(
    engine: Engine, routed: RoutingService
) -> None:
    report = _deliver(engine)
    assert (report.skipped, report.retried, report.delivered) == (1, 0, 0)
    [row] = routed.alerts(status="pending", limit=5)
    assert row["attempts"] == 0 and row["last_error"] is None
