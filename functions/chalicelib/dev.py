"""Dev-only routes (spec §5): registered only when the stack runs in dev mode."""

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.dev_schemas import GROUP_SIMULATIONS, SIMULATION_REFUSALS, DevSimulateRequest, Simulated
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import IntQuery
from whatsam.http.presenters import session_view
from whatsam.http.schemas import DevInboundRequest
from whatsam.services.session_status import MAX_WAIT_SECONDS

bp = Blueprint(__name__)


_WAIT = IntQuery("wait", "Seconds to wait for the effect before answering", minimum=0,
                 maximum=MAX_WAIT_SECONDS, default=0)


def _wait(call: Call) -> int:
    return _WAIT.get(call.request)


@endpoint(bp, "POST", "/v1/dev/sessions/{session_id}/scan",
          summary="Dev: the simulated phone scans the QR; `?wait=N` answers with the card once its status "
                  "moves on (up to 25 s)", tag="dev", auth="dev", status=202, errors=(404, 409), query=(_WAIT,))
def dev_scan(call: Call, session_id: str) -> dict:
    return session_view(container().dev_phone.scan(call.owner, session_id, wait=_wait(call)))


@endpoint(bp, "POST", "/v1/dev/sessions/{session_id}/inbound",
          summary="Dev: a simulated contact writes in; the message's id, and with `?wait=N` whether it is "
                  "stored yet (up to 25 s)", tag="dev", auth="dev", body=DevInboundRequest, status=202,
          errors=(404, 409), query=(_WAIT,))
def dev_inbound(call: Call, session_id: str) -> dict:
    message = container().dev_phone.inbound(call.owner, session_id, call.body.from_, call.body.text,
                                            wait=_wait(call))
    return {"id": message.message_id, "wa_id": message.wa_id, "session_id": message.session_id,
            "from": message.from_phone, "text": message.text, "stored": message.stored}



@endpoint(bp, "POST", "/v1/dev/sessions/{session_id}/simulate",
          summary="Dev: the simulated WhatsApp produces an event (someone adds the session to a group, a call "
                  "rings, history arrives, …)",
          tag="dev", auth="dev", body=DevSimulateRequest, errors=(403, 404, 409, 422, 504), response=Simulated)
def dev_simulate(call: Call, session_id: str) -> dict:
    services = container()
    card = services.dev_phone.card(call.owner, session_id)
    body = call.body
    if body.type in GROUP_SIMULATIONS:
        return services.groups.simulate(card, body.type, phone=body.phone or "", group=body.group,
                                        subject=body.subject, participants=body.participants, text=body.text)
    fields = body.engine_fields()
    if body.message_id is not None:
        # The simulated WhatsApp knows messages by WhatsApp's id.
        fields["message_id"] = services.messaging.wa_id_of(card.session_id, body.message_id)
    result = services.engine_calls.ask(card.session_id, "simulate", SIMULATION_REFUSALS, type=body.type, **fields)
    return {"type": body.type, "result": result}
