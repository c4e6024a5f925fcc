"""A real HTTP receiver for deliver's broker tests (http.server, in a thread of the test process), one
path per endpoint, each with its own faults. It behaves like a careful receiver: it verifies every
request (verifier.py, written from the spec), processes each webhook-id once, and answers a repeat
of an id it has processed with 200 without processing it again.

Faults, per path: `fail_first` 500s for each new id; `timeout_first` processes the first request of
each id and then answers too late (after deliver's attempt budget); `delay` answers every request
after a pause; a path whose `secret` differs from deliver's rejects every request (401); the first
request of a `hold` release is processed and then not answered until the test lets go (a deliver
killed while waiting).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.services.deliver.verifier import Rejected, verify


@dataclass
class Path:
    secret: str
    fail_first: int = 0
    timeout_first: float = 0.0
    delay: float = 0.0
    hold: set[str] = field(default_factory=set)  # release ids
    requests: list[tuple[int, str, str]] = field(default_factory=list)  # (generation, id, release_id)
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> body
    repeats: Counter[str] = field(default_factory=Counter)  # repeats of processed ids, answered 200
    rejected: int = 0


class Receiver:
    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths
        self.generation = 1  # the test moves it on at a restart of deliver
        self.lock = threading.Lock()
        self.holding = threading.Event()  # a held release was processed and is waiting
        self.let_go = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status, after = receiver.handle(self.path.lstrip("/"), dict(self.headers.items()), body)
                if after:
                    time.sleep(after)  # the receiver is slow: this is the fault under test
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:  # deliver gave up or was killed meanwhile
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.let_go.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, name: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
        """(status, seconds to wait before answering)."""
        headers = {k.lower(): v for k, v in headers.items()}
        path = self.paths[name]
        msg_id = headers.get("webhook-id", "")
        with self.lock:
            seen = sum(1 for _, i, _ in path.requests if i == msg_id)
            try:
                verify(path.secret, headers, body, time.time())
            except Rejected:
                path.requests.append((self.generation, msg_id, ""))
                path.rejected += 1
                return 401, 0.0
            release_id = json.loads(body)["data"]["release_id"]
            path.requests.append((self.generation, msg_id, release_id))
            if seen < path.fail_first:
                return 500, path.delay
            if msg_id in path.processed:
                path.repeats[msg_id] += 1
                return 200, path.delay
            path.processed[msg_id] = json.loads(body)
            if seen == 0 and path.timeout_first:
                return 200, path.timeout_first
            hold = release_id in path.hold and seen == 0
        if hold:
            self.holding.set()
            self.let_go.wait(120)
        return 200, path.delay
