"""Profile, presence, calls, blocklist and privacy (spec §3.10), with the session API key."""

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.profile_schemas import (
    Blocklist,
    BlockRequest,
    CallRejection,
    ContactPicture,
    PresenceRequest,
    PresenceSubscription,
    PresenceView,
    PrivacyView,
    ProfilePicture,
    ProfilePictureRequest,
    ProfileView,
    UpdatePrivacyRequest,
    UpdateProfileRequest,
)
from whatsam.messaging.media import decode_base64

bp = Blueprint(__name__)

# Besides bad input: no session connected (409), the worker or WhatsApp too slow (504) or
# failing (502), a value WhatsApp refuses (422).
_ERRORS = (400, 409, 422, 502, 504)
_PICTURE_MAX = 1024 * 1024


@endpoint(bp, "GET", "/v1/profile", summary="The session's own name, about text and picture id", tag="profile",
          auth="api_key", errors=_ERRORS, response=ProfileView)
def get_profile(call: Call) -> dict:
    return container().profile.profile(call.key.session_id)


@endpoint(bp, "PATCH", "/v1/profile", summary="Change the session's push name and/or about text", tag="profile",
          auth="api_key", body=UpdateProfileRequest, errors=_ERRORS, response=ProfileView)
def update_profile(call: Call) -> dict:
    return container().profile.update_profile(call.key.session_id, name=call.body.name, about=call.body.about)


@endpoint(bp, "PUT", "/v1/profile/picture", summary="Set the session's profile picture (a JPEG)", tag="profile",
          auth="api_key", body=ProfilePictureRequest, errors=_ERRORS, response=ProfilePicture)
def set_profile_picture(call: Call) -> dict:
    jpeg = decode_base64(call.body.image_base64, _PICTURE_MAX)
    return container().profile.set_picture(call.key.session_id, jpeg)


@endpoint(bp, "DELETE", "/v1/profile/picture", summary="Remove the session's profile picture", tag="profile",
          auth="api_key", status=204, errors=(*_ERRORS, 501))
def remove_profile_picture(call: Call) -> None:
    container().profile.remove_picture(call.key.session_id)


@endpoint(bp, "GET", "/v1/contacts/{contact}/picture", summary="A contact's profile picture, if this account may "
          "see one", tag="profile", auth="api_key", errors=(*_ERRORS, 404), response=ContactPicture)
def contact_picture(call: Call, contact: str) -> dict:
    return container().profile.contact_picture(call.key.session_id, contact)


@endpoint(bp, "POST", "/v1/presence", summary="Show the session as available (online) or unavailable",
          tag="profile", auth="api_key", body=PresenceRequest, errors=_ERRORS, response=PresenceView)
def set_presence(call: Call) -> dict:
    return container().profile.set_presence(call.key.session_id, call.body.state)


@endpoint(bp, "POST", "/v1/contacts/{contact}/presence/subscribe",
          summary="Follow a contact's presence: `presence.updated` events follow", tag="profile", auth="api_key",
          errors=(*_ERRORS, 404), response=PresenceSubscription)
def subscribe_presence(call: Call, contact: str) -> dict:
    return container().profile.subscribe_presence(call.key.session_id, contact)


@endpoint(bp, "POST", "/v1/calls/{call_id}/reject", summary="Reject a call that is ringing", tag="profile",
          auth="api_key", errors=(*_ERRORS, 404), response=CallRejection)
def reject_call(call: Call, call_id: str) -> dict:
    return container().profile.reject_call(call.key.session_id, call_id)


@endpoint(bp, "GET", "/v1/blocklist", summary="The contacts this account blocks", tag="profile", auth="api_key",
          errors=_ERRORS, response=Blocklist)
def get_blocklist(call: Call) -> dict:
    return container().profile.blocklist(call.key.session_id)


@endpoint(bp, "POST", "/v1/blocklist", summary="Block a contact; the blocklist after it", tag="profile",
          auth="api_key", body=BlockRequest, errors=(*_ERRORS, 404), response=Blocklist)
def block_contact(call: Call) -> dict:
    return container().profile.block(call.key.session_id, call.body.phone, block=True)


@endpoint(bp, "DELETE", "/v1/blocklist/{contact}", summary="Unblock a contact; the blocklist after it",
          tag="profile", auth="api_key", errors=_ERRORS, response=Blocklist)
def unblock_contact(call: Call, contact: str) -> dict:
    return container().profile.block(call.key.session_id, contact, block=False)


@endpoint(bp, "GET", "/v1/privacy", summary="The account's privacy settings", tag="profile", auth="api_key",
          errors=_ERRORS, response=PrivacyView)
def get_privacy(call: Call) -> dict:
    return container().profile.privacy(call.key.session_id)


@endpoint(bp, "PATCH", "/v1/privacy", summary="Change privacy settings (WhatsApp's values for each)", tag="profile",
          auth="api_key", body=UpdatePrivacyRequest, errors=_ERRORS, response=PrivacyView)
def update_privacy(call: Call) -> dict:
    return container().profile.update_privacy(call.key.session_id, call.body.changes())
