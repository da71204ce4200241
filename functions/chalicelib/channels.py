"""Channels (newsletters, spec §3.10), with the session API key."""

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.channel_schemas import Channel, ChannelFollow, ChannelList, ChannelPosts, CreateChannelRequest
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import IntQuery, page_size

bp = Blueprint(__name__)

# Besides bad input: no session connected (409), an unknown channel (404), not its owner (403), a
# refusal of WhatsApp's (422, 502), an engine that cannot (501), the worker or WhatsApp too slow (504).
_ERRORS = (400, 403, 404, 409, 422, 501, 502, 504)
_POSTS = page_size(50, 100)
_BEFORE = IntQuery("before", "Posts before this `server_id` (the next page)", minimum=1, maximum=2**31)


@endpoint(bp, "POST", "/v1/channels", summary="Create a channel this session owns", tag="channels",
          auth="api_key", body=CreateChannelRequest, status=201, errors=_ERRORS, response=Channel)
def create_channel(call: Call) -> dict:
    return container().channels.create(call.key.session_id, call.body.name, call.body.description)


@endpoint(bp, "GET", "/v1/channels", summary="The channels the session owns or follows", tag="channels",
          auth="api_key", errors=_ERRORS, response=ChannelList)
def list_channels(call: Call) -> dict:
    return {"channels": container().channels.followed(call.key.session_id)}


@endpoint(bp, "GET", "/v1/channels/{channel}", summary="A channel's info", tag="channels", auth="api_key",
          errors=_ERRORS, response=Channel)
def get_channel(call: Call, channel: str) -> dict:
    return container().channels.info(call.key.session_id, channel)


@endpoint(bp, "POST", "/v1/channels/{channel}/follow", summary="Follow a channel", tag="channels",
          auth="api_key", errors=_ERRORS, response=ChannelFollow)
def follow_channel(call: Call, channel: str) -> dict:
    return container().channels.follow(call.key.session_id, channel, following=True)


@endpoint(bp, "POST", "/v1/channels/{channel}/unfollow", summary="Stop following a channel", tag="channels",
          auth="api_key", errors=_ERRORS, response=ChannelFollow)
def unfollow_channel(call: Call, channel: str) -> dict:
    return container().channels.follow(call.key.session_id, channel, following=False)


@endpoint(bp, "GET", "/v1/channels/{channel}/messages", summary="A channel's latest posts, newest first "
          "(`?limit=&before=`)", tag="channels", auth="api_key", errors=_ERRORS, response=ChannelPosts,
          query=(_POSTS, _BEFORE))
def channel_messages(call: Call, channel: str) -> dict:
    return container().channels.messages(call.key.session_id, channel, count=_POSTS.get(call.request),
                                         before=_BEFORE.read(call.request))
