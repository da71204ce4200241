"""Dev-only routes (spec §5): registered only when the stack runs in dev mode."""

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.group_schemas import DevSimulateRequest, Simulated
from whatsam.http.presenters import session_view
from whatsam.http.schemas import DevInboundRequest

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/dev/sessions/{session_id}/scan", summary="Dev: the simulated phone scans the QR",
          tag="dev", auth="dev", status=202, errors=(404, 409))
def dev_scan(call: Call, session_id: str) -> dict:
    return session_view(container().lifecycle.dev_scan(call.owner, session_id))


@endpoint(bp, "POST", "/v1/dev/sessions/{session_id}/inbound", summary="Dev: a simulated contact writes in",
          tag="dev", auth="dev", body=DevInboundRequest, status=202, errors=(404, 409))
def dev_inbound(call: Call, session_id: str) -> dict:
    card = container().lifecycle.dev_inbound(call.owner, session_id, call.body.from_, call.body.text)
    return session_view(card)


@endpoint(bp, "POST", "/v1/dev/sessions/{session_id}/simulate",
          summary="Dev: the simulated WhatsApp produces an event (someone adds the session to a group, …)",
          tag="dev", auth="dev", body=DevSimulateRequest, errors=(403, 404, 409, 422, 504), response=Simulated)
def dev_simulate(call: Call, session_id: str) -> dict:
    services = container()
    card = services.lifecycle.dev_card(call.owner, session_id)
    body = call.body
    return services.groups.simulate(card, body.type, phone=body.phone, group=body.group, subject=body.subject,
                                    participants=body.participants, text=body.text)
