from chalice import Blueprint, Response

from whatsam.bootstrap import container
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.openapi import build_document
from whatsam.services.health import readiness

bp = Blueprint(__name__)


@endpoint(bp, "GET", "/health", summary="Liveness", tag="health", auth="none")
def health(call: Call) -> dict:
    return {"status": "ok"}


@endpoint(bp, "GET", "/health/ready", summary="Readiness: DynamoDB, SQS, S3 and Redis reachable", tag="health",
          auth="none", errors=(503,))
def ready(call: Call) -> Response:
    checks = readiness(container())
    healthy = all(c["ok"] for c in checks.values())
    return Response(body={"status": "ready" if healthy else "unavailable", "checks": checks},
                    status_code=200 if healthy else 503, headers={"Content-Type": "application/json"})


@endpoint(bp, "GET", "/v1/openapi.json", summary="This OpenAPI document", tag="health", auth="none")
def openapi(call: Call) -> dict:
    return build_document(bp.current_app.routes)
