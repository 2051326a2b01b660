"""A scripted HTTP server on loopback for the fetcher's tests: official-format files served the way
real producers' servers misbehave (5xx, cuts mid-file, lying Content-Length, redirects, silence).

    with ScriptedServer() as srv:
        srv.files["/base-ic.zip"] = payload
        srv.cuts["/base-ic.zip"] = [1000]          # first answer cut after 1 000 bytes, then whole
        srv.url("/base-ic.zip")                    # http://127.0.0.1:<port>/base-ic.zip

Every request is logged in :attr:`ScriptedServer.log` as ``(path, Range header or None)``.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading


class ScriptedServer:
    """``http.server`` in a thread on 127.0.0.1, port chosen by the system.

    Behaviours (each keyed by request path):

    files : path → body; absent paths answer 404.
    fail : path → number of 503 answers before the file (``fail_status`` sets another code).
    cuts : path → list of byte counts: the n-th answer sends the full ``Content-Length`` but only that
        many bytes, then closes the connection (an empty list: every answer complete).
    lie : path → extra bytes announced in ``Content-Length`` on every answer (never completes).
    redirects : path → (status, target path).
    silent : paths whose answer never comes (the handler waits until the server closes).
    stalls : path → byte count: the answer sends that many bytes of the body, then nothing more
        until the server closes (a download that hangs mid-file).
    gzip : paths sent with ``Content-Encoding: gzip``.
    ranges : answer ``Range: bytes=n-`` requests with 206 (and announce ``Accept-Ranges``).
    validators : with ``ranges``, send an ``ETag`` and honour ``If-Range`` (a changed file is sent whole).
    """

    def __init__(self, ranges: bool = False, validators: bool = True):
        self.files: dict[str, bytes] = {}
        self.fail: dict[str, int] = {}
        self.fail_status = 503
        self.cuts: dict[str, list[int]] = {}
        self.lie: dict[str, int] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.silent: set[str] = set()
        self.stalls: dict[str, int] = {}
        self.gzip: set[str] = set()
        self.ranges = ranges
        self.validators = validators
        self.log: list[tuple[str, str | None]] = []
        self.if_range: list[str | None] = []
        self._closing = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def paths(self) -> list[str]:
        """Requested paths, in order."""
        return [p for p, _ in self.log]

    def close(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ScriptedServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def etag(body: bytes) -> str:
        return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def _handler(self):
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _empty(self, status: int, headers: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):  # noqa: N802 - http.server's naming
                path = self.path
                rng = self.headers.get("Range")
                srv.log.append((path, rng))
                srv.if_range.append(self.headers.get("If-Range"))
                if path in srv.silent:
                    srv._closing.wait(30)
                    self.close_connection = True
                    return
                if srv.fail.get(path, 0) > 0:
                    srv.fail[path] -= 1
                    return self._empty(srv.fail_status)
                if path in srv.redirects:
                    status, target = srv.redirects[path]
                    return self._empty(status, {"Location": target})
                body = srv.files.get(path)
                if body is None:
                    return self._empty(404)
                headers = {}
                status = 200
                if path in srv.gzip:
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                elif srv.ranges:
                    headers["Accept-Ranges"] = "bytes"
                    if srv.validators:
                        headers["ETag"] = srv.etag(body)
                    cond = self.headers.get("If-Range")
                    if rng and rng.startswith("bytes=") and rng.endswith("-") and cond in (None, headers.get("ETag")):
                        start = int(rng[len("bytes="):-1])
                        if start >= len(body):
                            return self._empty(416, {"Content-Range": f"bytes */{len(body)}"})
                        headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                        body = body[start:]
                        status = 206
                announced = len(body) + srv.lie.get(path, 0)
                cut = srv.cuts.get(path)
                send = cut.pop(0) if cut else len(body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(announced))
                self.end_headers()
                if path in srv.stalls:
                    self.wfile.write(body[:srv.stalls[path]])
                    self.wfile.flush()
                    srv._closing.wait(30)
                    self.close_connection = True
                    return
                self.wfile.write(body[:send])
                self.wfile.flush()
                if send < announced:
                    self.close_connection = True

        return Handler
