from chalice import Blueprint, Response

from whatsam.bootstrap import container
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import IntQuery, Query
from whatsam.http.presenters import api_key_view, session_view, settings_view
from whatsam.http.schemas import (
    CreateApiKeyRequest,
    CreateSessionRequest,
    PairingCodeRequest,
    SessionSettingsView,
    UpdateSessionRequest,
    UpdateSessionSettingsRequest,
)
from whatsam.services.session_status import MAX_WAIT_SECONDS, qr_png, qr_view

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/sessions", summary="Create a session card (one per WhatsApp number)",
          tag="sessions", auth="user", body=CreateSessionRequest, status=201, errors=(409,),
          response_description="The card and its first API key, shown once", limits=("session_ops",))
def create_session(call: Call) -> dict:
    card, key, secret = container().sessions.create(call.user.user, name=call.body.name,
                                                    description=call.body.description)
    return {**session_view(card), "api_key": api_key_view(key, secret)}


@endpoint(bp, "GET", "/v1/sessions", summary="List your session cards", tag="sessions", auth="user")
def list_sessions(call: Call) -> dict:
    return {"sessions": [session_view(c) for c in container().sessions.list(call.user.user)]}


@endpoint(bp, "GET", "/v1/sessions/{session_id}", summary="Read a session card", tag="sessions", auth="user",
          errors=(404,))
def get_session(call: Call, session_id: str) -> dict:
    return session_view(container().sessions.get(call.user.user, session_id))


@endpoint(bp, "PATCH", "/v1/sessions/{session_id}", summary="Rename a session card", tag="sessions",
          auth="user", body=UpdateSessionRequest, errors=(404,))
def update_session(call: Call, session_id: str) -> dict:
    card = container().sessions.rename(call.user.user, session_id, name=call.body.name,
                                       description=call.body.description)
    return session_view(card)


@endpoint(bp, "DELETE", "/v1/sessions/{session_id}",
          summary="Log the device out, stop the session and delete its card, keys, credentials and messages",
          tag="sessions", auth="user", status=204, errors=(404,), response_description="Deleted",
          limits=("session_ops",))
def delete_session(call: Call, session_id: str) -> None:
    container().sessions.delete(call.user.user, session_id)


@endpoint(bp, "POST", "/v1/sessions/{session_id}/connect",
          summary="Start connecting: a worker picks the session up and produces a QR code", tag="sessions",
          auth="user", status=202, errors=(404, 409), response_description="Connecting", limits=("session_ops",))
def connect_session(call: Call, session_id: str) -> dict:
    return session_view(container().sessions.connect(call.user.user, session_id))


@endpoint(bp, "GET", "/v1/sessions/{session_id}/api-keys", summary="List a session's API keys",
          tag="api-keys", auth="user", errors=(404,))
def list_api_keys(call: Call, session_id: str) -> dict:
    services = container()
    card = services.sessions.get(call.user.user, session_id)
    return {"api_keys": [api_key_view(k) for k in services.api_keys.list(card)]}


@endpoint(bp, "POST", "/v1/sessions/{session_id}/api-keys", summary="Create an API key (secret shown once)",
          tag="api-keys", auth="user", body=CreateApiKeyRequest, status=201, errors=(404,), limits=("session_ops",))
def create_api_key(call: Call, session_id: str) -> dict:
    services = container()
    card = services.sessions.get(call.user.user, session_id)
    key, secret = services.api_keys.create(card, name=call.body.name)
    return api_key_view(key, secret)


@endpoint(bp, "DELETE", "/v1/sessions/{session_id}/api-keys/{key_id}", summary="Revoke an API key",
          tag="api-keys", auth="user", status=204, errors=(404,), response_description="Revoked")
def revoke_api_key(call: Call, session_id: str, key_id: str) -> None:
    services = container()
    services.api_keys.revoke(services.sessions.get(call.user.user, session_id), key_id)


@endpoint(bp, "GET", "/v1/session", summary="The session card of the calling API key", tag="api-keys",
          auth="api_key", errors=(404,))
def key_session(call: Call) -> dict:
    return session_view(container().sessions.get(call.key.user, call.key.session_id))


STATUS_SINCE = IntQuery("since", "The `status_version` last seen", minimum=0, maximum=2**53)
STATUS_WAIT = IntQuery("wait", "Seconds to wait for a change", minimum=0, maximum=MAX_WAIT_SECONDS, default=0)
QR_FORMAT = Query("format", "`png` for the image", enum=("png", "json"))


@endpoint(bp, "GET", "/v1/sessions/{session_id}/status",
          summary="Status, phone, worker and version; `?wait=N&since=V` long-polls up to 25 s for a change",
          tag="sessions", auth="user", errors=(404,), query=(STATUS_SINCE, STATUS_WAIT))
def session_status(call: Call, session_id: str) -> dict:
    since = STATUS_SINCE.read(call.request)
    wait = STATUS_WAIT.get(call.request)
    return session_view(container().status.wait_for_change(call.user.user, session_id, since=since, wait=wait))


@endpoint(bp, "GET", "/v1/sessions/{session_id}/qr",
          summary="The current QR code: string, PNG data URL and expiry; `?format=png` for the image",
          tag="sessions", auth="user", errors=(404,), query=(QR_FORMAT,))
def session_qr(call: Call, session_id: str) -> Response | dict:
    qr = container().status.current_qr(call.user.user, session_id)
    if QR_FORMAT.read(call.request) == "png":
        return Response(body=qr_png(qr["qr"]), status_code=200,
                        headers={"Content-Type": "image/png", "Cache-Control": "no-store"})
    return qr_view(qr)


@endpoint(bp, "POST", "/v1/sessions/{session_id}/pairing-code",
          summary="Link by phone number instead of QR: an 8-character code to type on the phone", tag="sessions",
          auth="user", body=PairingCodeRequest, errors=(404, 409, 504), limits=("session_ops",))
def pairing_code(call: Call, session_id: str) -> dict:
    return container().lifecycle.pairing_code(call.user.user, session_id, call.body.phone)


@endpoint(bp, "POST", "/v1/sessions/{session_id}/disconnect",
          summary="Close the socket, keep the link: connect again without a scan", tag="sessions", auth="user",
          status=202, errors=(404,), limits=("session_ops",))
def disconnect_session(call: Call, session_id: str) -> dict:
    return session_view(container().lifecycle.disconnect(call.user.user, session_id))


@endpoint(bp, "POST", "/v1/sessions/{session_id}/logout",
          summary="Unlink the device and delete its credentials", tag="sessions", auth="user", status=202,
          errors=(404,), limits=("session_ops",))
def logout_session(call: Call, session_id: str) -> dict:
    return session_view(container().lifecycle.logout(call.user.user, session_id))


@endpoint(bp, "POST", "/v1/sessions/{session_id}/restart", summary="Reconnect the session's socket",
          tag="sessions", auth="user", status=202, errors=(404, 409), limits=("session_ops",))
def restart_session(call: Call, session_id: str) -> dict:
    return session_view(container().lifecycle.restart(call.user.user, session_id))


@endpoint(bp, "GET", "/v1/sessions/{session_id}/settings", summary="The session's settings", tag="sessions",
          auth="user", errors=(404,), response=SessionSettingsView)
def get_session_settings(call: Call, session_id: str) -> dict:
    return settings_view(container().session_settings.get(call.user.user, session_id))


@endpoint(bp, "PATCH", "/v1/sessions/{session_id}/settings",
          summary="Change the session's settings: calls rejected automatically, history kept on linking",
          tag="sessions", auth="user", body=UpdateSessionSettingsRequest, errors=(404,),
          response=SessionSettingsView)
def update_session_settings(call: Call, session_id: str) -> dict:
    return settings_view(container().session_settings.change(call.user.user, session_id, call.body.changes()))
