"""Chalice's local server, answering unknown routes as the deployed API Gateway does (see
whatsam.http.gateway_responses) instead of API Gateway's bare default."""

from __future__ import annotations

import functools
import uuid
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

from whatsam.http.gateway_responses import GATEWAY_RESPONSES, GatewayResponse


class _RequestHandler(ChaliceRequestHandler):
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
    server = create_local_server(app, config, host, port)
    server.server.RequestHandlerClass = functools.partial(
        _RequestHandler, app_object=app, config=config)
    return server
