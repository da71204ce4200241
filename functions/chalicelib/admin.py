"""Operator routes (role `admin`): platform stats, users, sessions by worker."""

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.admin_schemas import UpdateUserRequest
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import CURSOR, id_query, page_size
from whatsam.http.presenters import session_view, user_view

bp = Blueprint(__name__)


PAGE_SIZE = page_size(50, 200)
WORKER = id_query("worker", "Only sessions this worker hosts", "worker_id")


@endpoint(bp, "GET", "/v1/admin/stats", summary="Users, sessions and workers by status, messages today",
          tag="admin", auth="admin")
def admin_stats(call: Call) -> dict:
    return container().admin.stats()


@endpoint(bp, "GET", "/v1/admin/users", summary="Every user, paged (`?limit=&cursor=`)", tag="admin", auth="admin",
          errors=(400,), query=(PAGE_SIZE, CURSOR))
def admin_list_users(call: Call) -> dict:
    users, cursor = container().admin.users(limit=PAGE_SIZE.get(call.request), cursor=CURSOR.read(call.request))
    return {"users": [user_view(u) for u in users], "next_cursor": cursor}


@endpoint(bp, "PATCH", "/v1/admin/users/{user_id}", summary="Change a user's tier or deactivate / reactivate them",
          tag="admin", auth="admin", body=UpdateUserRequest, errors=(404, 409))
def admin_update_user(call: Call, user_id: str) -> dict:
    updated = container().admin.update_user(call.user.user, user_id, tier=call.body.tier, active=call.body.active)
    return user_view(updated)


@endpoint(bp, "GET", "/v1/admin/sessions", summary="Sessions, all or hosted by one worker (`?worker=`), paged",
          tag="admin", auth="admin", errors=(400, 404), query=(WORKER, PAGE_SIZE, CURSOR))
def admin_list_sessions(call: Call) -> dict:
    cards, cursor = container().admin.sessions(worker_id=WORKER.read(call.request),
                                               limit=PAGE_SIZE.get(call.request), cursor=CURSOR.read(call.request))
    return {"sessions": [{**session_view(card), "tenant_id": card.tenant_id} for card in cards],
            "next_cursor": cursor}
