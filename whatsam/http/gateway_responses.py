"""What API Gateway itself answers, before any Lambda runs (an unknown route, its own
throttling, an oversize request), in the API's error shape. `template.yaml` declares these
as the API's gateway responses and `whatsam dev` answers unknown routes the same way;
`tests/deploy` keeps the two in step."""

from __future__ import annotations

import json
from dataclasses import dataclass

# API Gateway fills this in; the dev server puts its own request id there.
REQUEST_ID = "$context.requestId"


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None  # None keeps the status API Gateway chose (the DEFAULT_* families)
    code: str
    message: str

    def body(self, request_id: str = REQUEST_ID) -> str:
        return json.dumps({"error": {"code": self.code, "message": self.message, "details": {},
                                     "request_id": request_id}}, separators=(",", ":"))


GATEWAY_RESPONSES: dict[str, GatewayResponse] = {
    # API Gateway's default is a 403 "Missing Authentication Token" for any route it lacks.
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(404, "route_not_found",
                                                    "No such route: check the method and the path."),
    "THROTTLED": GatewayResponse(429, "throttled", "Too many requests to the API right now: retry shortly."),
    "REQUEST_TOO_LARGE": GatewayResponse(413, "payload_too_large", "The request is too large."),
    "DEFAULT_4XX": GatewayResponse(None, "gateway_error", "The API gateway refused the request."),
    "DEFAULT_5XX": GatewayResponse(None, "gateway_error", "The API gateway could not reach the service."),
}
