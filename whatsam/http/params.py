"""Path and query parameters: how each is written, checked at the edge before any view runs,
and described in the OpenAPI document from the same declaration.

An id that cannot be one of ours (empty, too long, wrong shape) is answered like an id that
does not exist: the route's own 404. It never reaches DynamoDB, where an empty or oversize
key is an error rather than a miss."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalice.app import Request

from whatsam.errors import AppError, NotFound, ValidationFailed

# Printable ASCII without spaces: what an opaque token (cursor, id) may contain.
_OPAQUE_CHARS = r"[\x21-\x7e]"
# Anything but control characters (and `/`, which cannot be in a path segment anyway).
_TEXT_CHARS = r"[^\x00-\x1f\x7f/]"


@dataclass(frozen=True)
class PathParam:
    pattern: str
    max_length: int
    description: str
    code: str
    message: str
    # 404 for ids (a malformed id names nothing), 400 for values such as a month.
    not_found: bool = True

    def accepts(self, value: str) -> bool:
        return len(value) <= self.max_length and re.fullmatch(self.pattern, value) is not None

    def check(self, name: str, value: str) -> None:
        if self.accepts(value):
            return
        error: type[AppError] = NotFound if self.not_found else ValidationFailed
        raise error(self.message, code=self.code, details={} if self.not_found else {"parameter": name})

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^{self.pattern}$", "minLength": 1, "maxLength": self.max_length}


def _our_id(prefix: str, what: str, code: str, *, alphabet: str = "0-9a-z", length: int = 25) -> PathParam:
    """An id `whatsam.domain.ids.new_id` made: `prefix_` and 25 base36 characters."""
    return PathParam(pattern=f"{prefix}_[{alphabet}]{{{length}}}", max_length=len(prefix) + 1 + length,
                     description=f"The {what}'s id", code=code, message=f"No such {what}.")


PATH_PARAMS: dict[str, PathParam] = {
    "session_id": _our_id("ses", "session", "session_not_found"),
    "key_id": _our_id("key", "API key", "api_key_not_found"),
    "webhook_id": _our_id("whk", "webhook endpoint", "webhook_not_found"),
    # `delivery_id_for`: 26 base32 characters of a digest.
    "delivery_id": _our_id("msg", "delivery", "delivery_not_found", alphabet="a-z2-7", length=26),
    "user_id": _our_id("usr", "user", "user_not_found"),
    # `normalise_worker_id`: lower-case words joined by hyphens, at most 60 characters.
    "worker_id": PathParam(pattern="[a-z0-9]+(-[a-z0-9]+)*", max_length=60, description="The worker's id",
                           code="worker_not_found", message="No such worker."),
    # Ours (`msg_…`) or, for a received message, WhatsApp's own id.
    "message_id": PathParam(pattern="[A-Za-z0-9._:-]+", max_length=128, description="The message's id",
                            code="message_not_found", message="No such message."),
    "month": PathParam(pattern="[0-9]{4}-[0-9]{2}", max_length=7, description="A month, YYYY-MM",
                       code="invalid_month", message="The month must be written YYYY-MM, e.g. 2024-02.",
                       not_found=False),
    "chat": PathParam(pattern=f"{_TEXT_CHARS}+", max_length=64,
                      description="A phone number (E.164) or a user, group or LID JID", code="invalid_recipient",
                      message="Not a phone number or a WhatsApp JID.", not_found=False),
    # A group (or community, which is a group) JID, or its digits: `recipients.is_valid_group`.
    "group": PathParam(pattern=r"[0-9]{5,30}(-[0-9]{5,20})?(@g\.us)?", max_length=56,
                       description="The group's JID (`…@g.us`) or its digits", code="invalid_group_id",
                       message="Not a group id; groups are `…@g.us` JIDs.", not_found=False),
    "community": PathParam(pattern=r"[0-9]{5,30}(-[0-9]{5,20})?(@g\.us)?", max_length=56,
                           description="The community's JID (`…@g.us`) or its digits", code="invalid_group_id",
                           message="Not a community id; communities are `…@g.us` JIDs.", not_found=False),
    # A channel (newsletter) JID, or its digits: `recipients.is_valid_channel`.
    "channel": PathParam(pattern=r"[0-9]{5,30}(@newsletter)?", max_length=41,
                         description="The channel's JID (`…@newsletter`) or its digits", code="invalid_channel_id",
                         message="Not a channel id; channels are `…@newsletter` JIDs.", not_found=False),
    # `contracts.groups.invite_code_of`: letters and digits.
    "code": PathParam(pattern="[A-Za-z0-9]+", max_length=64, description="An invite code",
                      code="invalid_invite", message="Not an invite code.", not_found=False),
    # A person: `services.profile.contact_jid`. One name for every `/v1/contacts/{contact}/…` route, as
    # API Gateway allows one variable name per path position.
    "contact": PathParam(pattern=f"{_TEXT_CHARS}+", max_length=64,
                         description="A phone number (E.164) or a user or LID JID", code="invalid_contact",
                         message="Not a phone number or a person's WhatsApp JID.", not_found=False),
    # WhatsApp's call ids, as `call.received` gives them: letters and digits.
    "call_id": PathParam(pattern="[A-Za-z0-9]+", max_length=64, description="The call's id (from `call.received`)",
                         code="call_not_found", message="No such call is ringing."),
    # `services.contacts.lid_of`: ``<digits>@lid`` or its digits.
    "lid": PathParam(pattern="[0-9]{5,30}(:[0-9]{1,4})?(@lid)?", max_length=40,
                     description="A LID JID (`<digits>@lid`) or its digits", code="invalid_lid",
                     message="Not a LID; LIDs are `<digits>@lid`.", not_found=False),
}


def check_path(path_params: dict[str, str]) -> None:
    for name, value in path_params.items():
        PATH_PARAMS[name].check(name, value)


# ---------------------------------------------------------------- query parameters


def query_value(request: Request, name: str) -> str | None:
    params = request.query_params
    return None if params is None else params.get(name)


def _invalid(name: str, message: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_query", details={"parameter": name, **details})


@dataclass(frozen=True)
class Query:
    """A text query parameter. `read` returns it checked (None when absent or empty)."""

    name: str
    description: str
    max_length: int = 128
    pattern: str = f"{_TEXT_CHARS}+"
    enum: tuple[str, ...] = ()
    code: str = "invalid_query"
    # What a valid value is, for the refusal: "`name` must be <rule>."
    rule: str = "text without control characters"
    # An id: refused as that kind of path id is (a malformed id names nothing: 404).
    id_of: PathParam | None = None

    def read(self, request: Request) -> str | None:
        raw = query_value(request, self.name)
        if raw is None or raw == "":
            return None
        if self.id_of is not None:
            self.id_of.check(self.name, raw)
            return raw
        if self.enum and raw not in self.enum:
            raise _invalid(self.name, f"`{self.name}` must be one of: {', '.join(self.enum)}.")
        if len(raw) > self.max_length or not re.fullmatch(self.pattern, raw):
            raise ValidationFailed(f"`{self.name}` must be {self.rule}, at most {self.max_length} characters.",
                                   code=self.code, details={"parameter": self.name})
        return raw

    def schema(self) -> dict[str, Any]:
        if self.enum:
            return {"type": "string", "enum": list(self.enum)}
        return {"type": "string", "pattern": f"^{self.pattern}$", "maxLength": self.max_length}


@dataclass(frozen=True)
class IntQuery:
    """A whole-number query parameter within bounds; `default` when absent or empty."""

    name: str
    description: str
    minimum: int
    maximum: int
    default: int | None = None

    def read(self, request: Request) -> int | None:
        raw = query_value(request, self.name)
        if raw is None or raw == "":
            return self.default
        # ASCII digits only: int() would take other scripts' digits, `_` and spaces too.
        if len(raw) > 20 or not re.fullmatch(r"-?[0-9]+", raw):
            raise _invalid(self.name, f"`{self.name}` must be a whole number.")
        value = int(raw)
        if not self.minimum <= value <= self.maximum:
            raise _invalid(self.name, f"`{self.name}` must be between {self.minimum} and {self.maximum}.",
                           minimum=self.minimum, maximum=self.maximum)
        return value

    def get(self, request: Request) -> int:
        """`read` for a parameter with a default."""
        value = self.read(request)
        assert value is not None, f"{self.name} has no default"
        return value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.default is not None:
            schema["default"] = self.default
        return schema


QueryParam = Query | IntQuery


def page_size(default: int, maximum: int) -> IntQuery:
    return IntQuery("limit", f"Page size, 1 to {maximum}", minimum=1, maximum=maximum, default=default)


# A cursor is opaque: whatever the previous page returned, never longer than this.
CURSOR = Query("cursor", "The `next_cursor` of the previous page", max_length=512, pattern=f"{_OPAQUE_CHARS}+",
               code="invalid_cursor", rule="the `next_cursor` a previous page returned")


def id_query(name: str, description: str, kind: str) -> Query:
    """A query parameter that holds an id of a path parameter's kind, written the same way."""
    declared = PATH_PARAMS[kind]
    return Query(name, description, max_length=declared.max_length, pattern=declared.pattern, id_of=declared)
