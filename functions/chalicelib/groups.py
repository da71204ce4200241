"""Groups and communities (spec §3.8), with the session API key."""

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.contracts.groups import Group
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.group_schemas import (
    CommunityLink,
    CreateCommunityRequest,
    CreateGroupRequest,
    GroupList,
    GroupPicture,
    GroupPictureRequest,
    InviteLink,
    JoinedGroup,
    JoinGroupRequest,
    JoinRequestList,
    JoinRequestsAnswer,
    LinkedGroups,
    ParticipantResults,
    ParticipantsRequest,
    UpdateGroupRequest,
)
from whatsam.http.params import Query
from whatsam.messaging.media import decode_base64

bp = Blueprint(__name__)

# Refusals a group call can answer besides bad input: no session connected (409), not a member
# (404), not an admin (403), the worker or WhatsApp too slow (504).
_ERRORS = (400, 403, 404, 409, 422, 502, 504)
_PICTURE_MAX = 1024 * 1024


@endpoint(bp, "POST", "/v1/groups", summary="Create a group with its first participants", tag="groups",
          auth="api_key", body=CreateGroupRequest, status=201, errors=_ERRORS, response=Group)
def create_group(call: Call) -> dict:
    body = call.body
    return container().groups.create(call.key.session_id, body.subject, body.participants, body.description)


_REFRESH = Query("refresh", "`true` asks WhatsApp instead of answering from the list kept from events",
                 enum=("true", "false"))


@endpoint(bp, "GET", "/v1/groups", summary="The groups the session is in (`?refresh=true` asks WhatsApp)",
          tag="groups", auth="api_key", errors=_ERRORS, response=GroupList, query=(_REFRESH,))
def list_groups(call: Call) -> dict:
    refresh = _REFRESH.read(call.request) == "true"
    return {"groups": container().groups.joined(call.key.session_id, refresh=refresh)}


@endpoint(bp, "POST", "/v1/groups/join", summary="Join a group by invite code or link", tag="groups",
          auth="api_key", body=JoinGroupRequest, errors=(*_ERRORS, 410), response=JoinedGroup)
def join_group(call: Call) -> dict:
    return container().groups.join(call.key.session_id, call.body.invite)


@endpoint(bp, "GET", "/v1/groups/invites/{code}", summary="Preview the group an invite leads to, without joining",
          tag="groups", auth="api_key", errors=(*_ERRORS, 410), response=Group)
def preview_invite(call: Call, code: str) -> dict:
    return container().groups.preview(call.key.session_id, code)


@endpoint(bp, "GET", "/v1/groups/{group}", summary="A group's info and participants", tag="groups",
          auth="api_key", errors=_ERRORS, response=Group)
def get_group(call: Call, group: str) -> dict:
    return container().groups.info(call.key.session_id, group)


@endpoint(bp, "PATCH", "/v1/groups/{group}", summary="Change subject, description, announce, locked, join approval",
          tag="groups", auth="api_key", body=UpdateGroupRequest, errors=(*_ERRORS, 501), response=Group)
def update_group(call: Call, group: str) -> dict:
    return container().groups.update(call.key.session_id, group, call.body.changes())


@endpoint(bp, "PUT", "/v1/groups/{group}/picture", summary="Set the group's picture (a JPEG)", tag="groups",
          auth="api_key", body=GroupPictureRequest, errors=_ERRORS, response=GroupPicture)
def set_group_picture(call: Call, group: str) -> dict:
    jpeg = decode_base64(call.body.image_base64, _PICTURE_MAX)
    return container().groups.set_picture(call.key.session_id, group, jpeg)


@endpoint(bp, "DELETE", "/v1/groups/{group}/picture", summary="Remove the group's picture", tag="groups",
          auth="api_key", status=204, errors=(*_ERRORS, 501))
def remove_group_picture(call: Call, group: str) -> None:
    container().groups.remove_picture(call.key.session_id, group)


@endpoint(bp, "POST", "/v1/groups/{group}/leave", summary="Leave the group", tag="groups", auth="api_key",
          status=204, errors=_ERRORS)
def leave_group(call: Call, group: str) -> None:
    container().groups.leave(call.key.session_id, group)


@endpoint(bp, "POST", "/v1/groups/{group}/participants", summary="Add, remove, promote or demote; a result each",
          tag="groups", auth="api_key", body=ParticipantsRequest, errors=_ERRORS, response=ParticipantResults)
def change_participants(call: Call, group: str) -> dict:
    return container().groups.participants(call.key.session_id, group, call.body.action, call.body.participants)


@endpoint(bp, "GET", "/v1/groups/{group}/invite-link", summary="The group's invite link", tag="groups",
          auth="api_key", errors=_ERRORS, response=InviteLink)
def group_invite_link(call: Call, group: str) -> dict:
    return container().groups.invite_link(call.key.session_id, group)


@endpoint(bp, "POST", "/v1/groups/{group}/invite-link/revoke", summary="Reset the invite link (the old one stops)",
          tag="groups", auth="api_key", errors=_ERRORS, response=InviteLink)
def revoke_group_invite_link(call: Call, group: str) -> dict:
    return container().groups.invite_link(call.key.session_id, group, revoke=True)


@endpoint(bp, "GET", "/v1/groups/{group}/requests", summary="Pending requests to join", tag="groups",
          auth="api_key", errors=_ERRORS, response=JoinRequestList)
def group_join_requests(call: Call, group: str) -> dict:
    return container().groups.join_requests(call.key.session_id, group)


@endpoint(bp, "POST", "/v1/groups/{group}/requests", summary="Approve or reject requests to join; a result each",
          tag="groups", auth="api_key", body=JoinRequestsAnswer, errors=(*_ERRORS, 501), response=ParticipantResults)
def answer_group_join_requests(call: Call, group: str) -> dict:
    body = call.body
    return container().groups.answer_join_requests(call.key.session_id, group, body.action, body.participants)


@endpoint(bp, "POST", "/v1/communities", summary="Create a community", tag="groups", auth="api_key",
          body=CreateCommunityRequest, status=201, errors=_ERRORS, response=Group)
def create_community(call: Call) -> dict:
    return container().groups.create(call.key.session_id, call.body.subject, [], call.body.description,
                                     community=True)


@endpoint(bp, "GET", "/v1/communities/{community}/groups", summary="The groups linked to a community",
          tag="groups", auth="api_key", errors=_ERRORS, response=LinkedGroups)
def community_groups(call: Call, community: str) -> dict:
    return container().groups.linked_groups(call.key.session_id, community)


@endpoint(bp, "POST", "/v1/communities/{community}/groups/{group}", summary="Link a group to the community",
          tag="groups", auth="api_key", errors=_ERRORS, response=CommunityLink)
def link_community_group(call: Call, community: str, group: str) -> dict:
    return container().groups.link(call.key.session_id, community, group)


@endpoint(bp, "DELETE", "/v1/communities/{community}/groups/{group}", summary="Unlink a group from the community",
          tag="groups", auth="api_key", errors=_ERRORS, response=CommunityLink)
def unlink_community_group(call: Call, community: str, group: str) -> dict:
    return container().groups.link(call.key.session_id, community, group, unlink=True)
