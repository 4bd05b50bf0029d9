"""Real local receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP webhook endpoint,
both on 127.0.0.1, recording what arrived."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpInbox:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["To"]]


@contextmanager
def smtp_server() -> Iterator[SmtpInbox]:
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            inbox.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                             policy=email.policy.default))
            return "250 OK"

    controller = Controller(Handler(), hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class WebhookInbox:
    url: str
    posts: list[dict] = field(default_factory=list)  # {"path", "content_type", "body"}
    fail_next: int = 0  # answer this many requests with 500 first (to exercise retries)
    attempts: int = 0


@contextmanager
def webhook_server() -> Iterator[WebhookInbox]:
    inbox = WebhookInbox("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's hook name)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            inbox.attempts += 1
            if inbox.fail_next > 0:
                inbox.fail_next -= 1
                self.send_response(500)
                self.end_headers()
                return
            inbox.posts.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                "body": json.loads(body)})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"1")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    inbox.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/not-a-secret"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()
