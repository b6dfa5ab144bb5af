"""The HTTP side of ``ganforge serve``: the standard library's threading server, a handful of routes.

Routes: ``/`` the page, ``/api/info``, ``/api/grid``, ``/api/walk`` (PNG), ``/report`` (the run's
report, made on request). Anything the client gets wrong is a 4xx with a one-line JSON message;
no traceback ever reaches the client.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ganforge.errors import UserError
from ganforge.report import render_report
from ganforge.serve.studio import BadRequest, Busy, NotReady, Studio, parse_grid, parse_walk

_PAGE = resources.files("ganforge.serve").joinpath("page.html")


class StudioServer(ThreadingHTTPServer):
    """A threading HTTP server that hands each request the one :class:`Studio`."""

    daemon_threads = True  # an idle keep-alive connection does not hold a stop (see wait_for_answers)
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], studio: Studio) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6  # e.g. --host ::1
        super().__init__(address, StudioHandler)
        self.studio = studio
        self._answering = 0  # requests between their first and last byte (idle keep-alives not counted)
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Counts one request as being answered while the ``with`` block runs."""
        with self._changed:
            self._answering += 1
        try:
            yield
        finally:
            with self._changed:
                self._answering -= 1
                self._changed.notify_all()

    def wait_for_answers(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no request is being answered; whether none is.

        Stopping must wait for them: a request thread is a daemon (so an idle keep-alive connection
        never holds the server open), and a daemon still inside torch when the interpreter shuts down
        can abort the process ("terminate called without an active exception").
        """
        with self._changed:
            return self._changed.wait_for(lambda: self._answering == 0, timeout)

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """A client that hung up mid-answer is not an error worth a traceback on the terminal."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StudioHandler(BaseHTTPRequestHandler):
    """Answers one request; every error becomes a JSON ``{"error": message}`` with a 4xx status."""

    server: StudioServer
    server_version = "ganforge-serve"
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # answer even a garbage request line with a status line

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, HTTP version, header too long): JSON and a 4xx."""
        status = HTTPStatus(code) if code < 500 else HTTPStatus.BAD_REQUEST
        self._json({"error": message or status.phrase}, status)

    def do_GET(self) -> None:
        with self.server.answering():
            self._answer()

    def _answer(self) -> None:
        try:
            self._route()
        except BadRequest as exc:
            self._json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
        except NotReady as exc:
            self._json({"error": str(exc)}, HTTPStatus.CONFLICT)
        except Busy as exc:
            self._json({"error": str(exc)}, HTTPStatus.TOO_MANY_REQUESTS)
        except UserError as exc:
            self._json({"error": str(exc)}, HTTPStatus.UNPROCESSABLE_ENTITY)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away: nothing to answer
        except Exception:  # a bug: say so once on the server's terminal, never to the client
            traceback.print_exc(file=sys.stderr)
            self._json(
                {"error": "internal error (see the server's terminal)"}, HTTPStatus.INTERNAL_SERVER_ERROR
            )

    def do_HEAD(self) -> None:
        self._json({"error": "use GET"}, HTTPStatus.METHOD_NOT_ALLOWED)

    def __getattr__(self, name: str) -> Any:
        # POST, PUT, DELETE and any other method: 405 rather than http.server's 501.
        if name.startswith("do_"):
            return lambda: self._json({"error": "only GET is served"}, HTTPStatus.METHOD_NOT_ALLOWED)
        raise AttributeError(name)

    def _route(self) -> None:
        url = urlsplit(self.path)
        try:
            query = parse_qs(
                url.query, keep_blank_values=True, strict_parsing=bool(url.query), max_num_fields=20
            )
        except ValueError as exc:
            raise BadRequest(f"malformed query string ({exc})") from None
        studio = self.server.studio
        if url.path in ("/", "/index.html"):
            self._send(_PAGE.read_bytes(), "text/html; charset=utf-8")
        elif url.path == "/api/info":
            self._json(studio.info())
        elif url.path == "/api/grid":
            self._send(studio.grid(parse_grid(query, studio.checkpoints())), "image/png")
        elif url.path == "/api/walk":
            self._send(studio.walk(parse_walk(query, studio.checkpoints())), "image/png")
        elif url.path == "/report":
            html, _ = render_report(studio.run_dir)
            self._send(html.encode(), "text/html; charset=utf-8")
        else:
            self._json({"error": f"no such page {url.path[:80]!r}"}, HTTPStatus.NOT_FOUND)

    def _json(self, payload: dict[str, Any], status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(json.dumps(payload).encode(), "application/json", status)

    def _send(self, body: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        if status >= 400:
            # A refused request may have come with a body we did not read: never reuse that connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # a checkpoint may be replaced while the page is open
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Quiet on success; refused requests are worth a line on the terminal.
        if isinstance(code, HTTPStatus):
            code = code.value
        if str(code).isdigit() and int(code) >= 400:
            super().log_request(code, size)
