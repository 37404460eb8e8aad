"""Small real HTTP servers on 127.0.0.1 for tests: a webhook receiver and a slow service."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder(ThreadingHTTPServer):
    """Records every request; answers with ``status`` (and ``location`` for redirects)."""

    daemon_threads = True

    def __init__(self, status: int = 200, delay_s: float = 0.0, location: str | None = None):
        self.status, self.delay_s, self.location = status, delay_s, location
        self.requests: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server: Recorder = self.server
        server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                "body": body})
        time.sleep(server.delay_s)
        self.send_response(server.status)
        if server.location:
            self.send_header("Location", server.location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass
