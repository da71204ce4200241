"""Chalice's local server, answering unknown routes as the deployed API Gateway does (see
whatsam.http.gateway_responses) instead of API Gateway's bare default."""

from __future__ import annotations

import functools
import uuid

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

    def do_TRACE(self) -> None:
        # http.server would answer a 501 HTML page; API Gateway has no TRACE route either.
        self._send_gateway_response(GATEWAY_RESPONSES["MISSING_AUTHENTICATION_TOKEN"])

    def _send_gateway_response(self, response: GatewayResponse) -> None:
        request_id = str(uuid.uuid4())
        assert response.status is not None
        self._send_http_response(response.status, {"Content-Type": "application/json", "X-Request-Id": request_id},
                                 response.body(request_id))


def local_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    server = create_local_server(app, config, host, port)
    server.server.RequestHandlerClass = functools.partial(
        _RequestHandler, app_object=app, config=config)
    return server
