"""Chalice's local server, answering unknown routes as the deployed API Gateway does (see
whatsam.http.gateway_responses) instead of API Gateway's bare default."""

from __future__ import annotations

import errno
import functools
import logging
import socket
import uuid
from contextlib import closing
from http import HTTPStatus

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalDevServer,
    LocalGatewayException,
    create_local_server,
)

from whatsam.dev.processes import free_port
from whatsam.http.gateway_responses import GATEWAY_RESPONSES, GatewayResponse

log = logging.getLogger("whatsam.dev")


class PortTaken(RuntimeError):
    def __init__(self, host: str, port: int):
        super().__init__(f"port {port} on {host} is taken (another `whatsam dev`, or another server); "
                         f"stop that, or pick another port, e.g. `whatsam dev --port {free_port()}`")


def require_free_port(host: str, port: int) -> None:
    """Fail before anything starts when the API's port is taken. Binds as http.server will
    (SO_REUSEADDR, so a port in TIME_WAIT from a previous run counts as free)."""
    with closing(socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTaken(host, port) from None
            raise


class _RequestHandler(ChaliceRequestHandler):
    def handle(self) -> None:
        # A browser that reloads or closes the dashboard drops its open requests (the status
        # long-poll among them): routine, not worth http.server's traceback on stderr.
        try:
            super().handle()
        except ConnectionError as exc:
            self.close_connection = True
            log.debug("client %s went away: %s", self.client_address[0], type(exc).__name__)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        # Chalice raises this only when no route matches the path.
        if isinstance(error, ForbiddenError):
            self._send_gateway_response(GATEWAY_RESPONSES["MISSING_AUTHENTICATION_TOKEN"])
            return
        super()._send_error_response(error)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a method it has no handler for, such as TRACE or QUERY;
        a malformed request line; oversize headers) as JSON rather than an HTML page. API
        Gateway routes no such method either: like it, answer as for an unknown route."""
        if code == HTTPStatus.NOT_IMPLEMENTED:
            self._send_gateway_response(GATEWAY_RESPONSES["MISSING_AUTHENTICATION_TOKEN"])
        else:
            self._send_gateway_response(GATEWAY_RESPONSES["DEFAULT_4XX"], status=code)

    def _send_gateway_response(self, response: GatewayResponse, status: int | None = None) -> None:
        request_id = str(uuid.uuid4())
        code = status or response.status
        assert code is not None
        self._send_http_response(code, {"Content-Type": "application/json", "X-Request-Id": request_id},
                                 response.body(request_id))


def local_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    try:
        server = create_local_server(app, config, host, port)
    except OSError as exc:
        # Taken between require_free_port and here.
        if exc.errno == errno.EADDRINUSE:
            raise PortTaken(host, port) from None
        raise
    server.server.RequestHandlerClass = functools.partial(
        _RequestHandler, app_object=app, config=config)
    return server
