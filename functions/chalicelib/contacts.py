"""Contacts and identities (spec §3.9), with the session API key."""

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.errors import ValidationFailed
from whatsam.http.contact_schemas import (
    CheckRequest,
    CheckResults,
    ContactExists,
    ContactList,
    ContactView,
    IdentityView,
)
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import CURSOR, Query, page_size

bp = Blueprint(__name__)

# Bad ids (400), unknown to WhatsApp too (404), no session connected when WhatsApp must be
# asked (409), the worker or WhatsApp failing or too slow (502, 504).
_ERRORS = (400, 404, 409, 502, 504)
_PAGE = page_size(100, 500)
_PHONE = Query("phone", "The phone number (E.164) whose LID to find", max_length=32)


@endpoint(bp, "GET", "/v1/lids/{lid}", summary="The phone number behind a LID (asks WhatsApp only when the "
          "session has not learnt it yet)", tag="contacts", auth="api_key", errors=_ERRORS, response=IdentityView)
def lid_phone(call: Call, lid: str) -> dict:
    return container().contacts.phone_of_lid(call.key.session_id, lid)


@endpoint(bp, "GET", "/v1/lids", summary="The LID of a phone number (`?phone=`; asks WhatsApp only when the "
          "session has not learnt it yet)", tag="contacts", auth="api_key", errors=_ERRORS, response=IdentityView,
          query=(_PHONE,))
def phone_lid(call: Call) -> dict:
    phone = _PHONE.read(call.request)
    if phone is None:
        raise ValidationFailed("Give `phone`: the number whose LID to find.", code="invalid_query",
                               details={"parameter": "phone"})
    return container().contacts.lid_of_phone(call.key.session_id, phone)


@endpoint(bp, "GET", "/v1/contacts", summary="The session's contacts: the phone's contact store and everyone "
          "who wrote (`?cursor=&limit=`)", tag="contacts", auth="api_key", errors=(400, 409, 502, 504),
          response=ContactList, query=(_PAGE, CURSOR))
def list_contacts(call: Call) -> dict:
    return container().contacts.contacts(call.key.session_id, CURSOR.read(call.request), _PAGE.get(call.request))


@endpoint(bp, "POST", "/v1/contacts/check", summary="Which of up to 50 numbers are on WhatsApp, in one round trip",
          tag="contacts", auth="api_key", body=CheckRequest, errors=(400, 409, 422, 502, 504), response=CheckResults)
def check_contacts(call: Call) -> dict:
    return container().contacts.check(call.key.session_id, call.body.phones)


@endpoint(bp, "GET", "/v1/contacts/{contact}", summary="One contact by E.164 number, phone JID or LID: both "
          "identities, names, and whether the number is on WhatsApp", tag="contacts", auth="api_key",
          errors=_ERRORS, response=ContactView)
def get_contact(call: Call, contact: str) -> dict:
    return container().contacts.contact(call.key.session_id, contact)


# `{contact}`, not `{phone}`: API Gateway wants one name for the variable part of sibling paths.
@endpoint(bp, "GET", "/v1/contacts/{contact}/exists", summary="Is this number on WhatsApp?", tag="contacts",
          auth="api_key", errors=(400, 409, 502, 504), response=ContactExists)
def contact_exists(call: Call, contact: str) -> dict:
    return container().contacts.exists(call.key.session_id, contact)
