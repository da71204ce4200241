"""Status (stories, spec §3.10) and poll tallies, with the session API key."""

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.channel_schemas import PollTally, QueuedMessage
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.presenters import message_view
from whatsam.messaging.status_requests import StatusBody

bp = Blueprint(__name__)

# Inline base64 media (5 MiB decoded) plus the JSON around it, as POST /v1/messages.
_STATUS_BODY_LIMIT = 8 * 1024 * 1024


@endpoint(bp, "POST", "/v1/status", summary="Post a status (story): text, image or video (202: queued, sent "
          "to `status@broadcast` from the session's outbox like a message)", tag="status", auth="api_key",
          body=StatusBody, status=202, errors=(404, 409, 413, 422), response=QueuedMessage,
          response_description="Accepted and queued", max_body=_STATUS_BODY_LIMIT, limits=("messages",))
def post_status(call: Call) -> dict:
    services = container()
    record = services.messaging.accept_status(call.key.user, call.key.session_id, call.body.root,
                                              call.request.headers.get("idempotency-key"))
    return message_view(record, services.messaging.media_url)


@endpoint(bp, "GET", "/v1/messages/{message_id}/votes", summary="The votes of a poll: per option how many and "
          "who (each voter's latest vote)", tag="messages", auth="api_key", errors=(404, 422), response=PollTally)
def poll_votes(call: Call, message_id: str) -> dict:
    return container().messaging.votes(call.key.session_id, message_id)
