"""A fault-injecting HTTP proxy for OpenAI-compatible servers (tests only).

Sits between the client and a real server (`transformers serve`). For each distinct request body it
can fail the first attempt with one fault from a cycle (HTTP 429, HTTP 500, a dropped connection, a
malformed JSON body), then forwards the retries. It records every body it forwarded, so a test can
check that no request reached the server twice after succeeding. Optional: require an API key (401
otherwise) and corrupt the model's answer to structured requests until the client asks for a repair.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

FAULTS = ("429", "500", "drop", "malformed_body")
REPAIR_MARKER = "Your answer is not valid"


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        faults: tuple[str, ...] = (),
        api_key: str | None = None,
        corrupt_structured: bool = False,
        valid_structured_answer: str | None = None,
    ) -> None:
        parsed = urlparse(upstream)
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port
        self.faults = faults
        self.api_key = api_key
        self.corrupt_structured = corrupt_structured
        self.valid_structured_answer = valid_structured_answer
        self.lock = threading.Lock()
        self.attempts: Counter[str] = Counter()  # body hash -> requests received
        self.forwarded: list[dict] = []  # bodies forwarded to the server with a 200 answer
        self.injected: Counter[str] = Counter()
        self.in_flight = 0  # requests being forwarded to the server right now
        self._fault_index = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.handle(self, body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # clients that vanish (a killed stage, a dropped connection) are expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_fault(self, digest: str) -> str | None:
        with self.lock:
            self.attempts[digest] += 1
            if not self.faults or self.attempts[digest] > 1:
                return None
            fault = self.faults[self._fault_index % len(self.faults)]
            self._fault_index += 1
            self.injected[fault] += 1
            return fault

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        if self.api_key is not None and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _send(
                handler,
                401,
                b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}',
            )
        fault = self._next_fault(hashlib.sha256(body).hexdigest())
        if fault == "429":
            return _send(handler, 429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "0"})
        if fault == "500":
            return _send(handler, 500, b'{"error": {"message": "internal error"}}')
        if fault == "drop":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault == "malformed_body":
            return _send(
                handler, 200, b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "mess'
            )
        status, payload = self._forward(handler, body)
        if status == 200:
            request = json.loads(body)
            if self.corrupt_structured and "response_format" not in request and _is_structured(request):
                payload = self._rewrite_structured(request, payload)
        return _send(handler, status, payload)

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Wait until no forwarded request is pending (e.g. those of a killed client)."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.in_flight, "the proxy did not go idle"

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        with self.lock:
            self.in_flight += 1
        try:
            return self._forward_once(handler, body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _forward_once(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=300)
        try:
            connection.request("POST", handler.path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            status, payload = response.status, response.read()
            if status == 200:
                with self.lock:
                    self.forwarded.append(json.loads(body))
            return status, payload
        finally:
            connection.close()

    def _rewrite_structured(self, request: dict, payload: bytes) -> bytes:
        """First attempt: malformed JSON as the model's answer; a repair attempt: a valid answer."""
        answer = json.loads(payload)
        repair = REPAIR_MARKER in request["messages"][-1]["content"]
        content = self.valid_structured_answer if repair else '{"personas": [{"ID": "P1", "Name": '
        answer["choices"][0]["message"]["content"] = content
        return json.dumps(answer).encode()


def _is_structured(request: dict) -> bool:
    return any(
        "Return only JSON" in m["content"] or REPAIR_MARKER in m["content"] for m in request["messages"]
    )


def _send(handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    try:
        handler.end_headers()
        handler.wfile.write(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client is gone (a killed stage): nothing to answer
