"""Webhook endpoints (JWT, the owner's own only) and the webhooks-queue delivery handler."""

import asyncio
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import CURSOR, Query, page_size
from whatsam.http.presenters import iso
from whatsam.webhooks.jobs import decode_job
from whatsam.webhooks.models import DeliveryStatus
from whatsam.webhooks.schemas import CreateWebhookRequest, RecoverWebhookRequest, UpdateWebhookRequest
from whatsam.webhooks.views import delivery_view, endpoint_view

bp = Blueprint(__name__)
# Records of a batch are attempted concurrently (each may wait up to the 15 s timeout); a
# record whose handling raised is reported as a batch item failure and comes back.


async def deliver_record(record: SQSRecord) -> None:
    job = decode_job(record.body)
    await asyncio.to_thread(container().webhooks.deliverer.handle, job)


@bp.on_sqs_message(queue="webhooks", batch_size=10)
def deliver_webhooks(event: Any) -> PartialItemFailureResponse:
    container()  # wired once, here, before the records' threads need it
    # A processor per batch: it keeps the batch's outcomes, and `whatsam dev` polls with several threads.
    return async_process_partial_response(event=event.to_dict(), record_handler=deliver_record,
                                          processor=AsyncBatchProcessor(event_type=EventType.SQS),
                                          context=event.context)


@endpoint(bp, "POST", "/v1/webhooks", summary="Create a webhook endpoint (its signing secret shown once)",
          tag="webhooks", auth="user", body=CreateWebhookRequest, status=201, errors=(404, 409, 422),
          response_description="The endpoint and its `whsec_` secret, shown once")
def create_webhook(call: Call) -> dict:
    body = call.body
    created, secret = container().webhooks.service.create(
        call.user.user, url=body.url, event_types=tuple(body.events), session_id=body.session_id,
        description=body.description)
    return endpoint_view(created, secret)


@endpoint(bp, "GET", "/v1/webhooks", summary="List your webhook endpoints", tag="webhooks", auth="user")
def list_webhooks(call: Call) -> dict:
    return {"webhooks": [endpoint_view(e) for e in container().webhooks.service.list_endpoints(call.user.user)]}


@endpoint(bp, "GET", "/v1/webhooks/{webhook_id}", summary="Read a webhook endpoint, its health and why it was "
          "disabled", tag="webhooks", auth="user", errors=(404,))
def get_webhook(call: Call, webhook_id: str) -> dict:
    return endpoint_view(container().webhooks.service.get(call.user.user, webhook_id))


@endpoint(bp, "PATCH", "/v1/webhooks/{webhook_id}", summary="Change a webhook endpoint's URL, events or "
          "description, or enable/disable it", tag="webhooks", auth="user", body=UpdateWebhookRequest,
          errors=(404, 422))
def update_webhook(call: Call, webhook_id: str) -> dict:
    body = call.body
    updated = container().webhooks.service.update(
        call.user.user, webhook_id, url=body.url, event_types=tuple(body.events) if body.events else None,
        description=body.description, enabled=body.enabled)
    return endpoint_view(updated)


@endpoint(bp, "DELETE", "/v1/webhooks/{webhook_id}", summary="Delete a webhook endpoint", tag="webhooks",
          auth="user", status=204, errors=(404,), response_description="Deleted")
def delete_webhook(call: Call, webhook_id: str) -> None:
    container().webhooks.service.delete(call.user.user, webhook_id)


@endpoint(bp, "POST", "/v1/webhooks/{webhook_id}/test", summary="Send a `webhook.test` event to the endpoint",
          tag="webhooks", auth="user", status=202, errors=(404, 409), response_description="The test delivery")
def test_webhook(call: Call, webhook_id: str) -> dict:
    return delivery_view(container().webhooks.service.send_test(call.user.user, webhook_id))


@endpoint(bp, "POST", "/v1/webhooks/{webhook_id}/rotate-secret",
          summary="Rotate the signing secret (shown once); the old one keeps signing during the overlap",
          tag="webhooks", auth="user", errors=(404, 409))
def rotate_webhook_secret(call: Call, webhook_id: str) -> dict:
    rotated, secret = container().webhooks.service.rotate_secret(call.user.user, webhook_id)
    return endpoint_view(rotated, secret)


@endpoint(bp, "POST", "/v1/webhooks/{webhook_id}/recover",
          summary="Send again every failed delivery created in [since, until]", tag="webhooks", auth="user",
          body=RecoverWebhookRequest, status=202, errors=(404, 409))
def recover_webhook(call: Call, webhook_id: str) -> dict:
    result = container().webhooks.service.recover(call.user.user, webhook_id, since=call.body.since,
                                                  until=call.body.until)
    return {"recovered": result.recovered, "complete": result.complete, "next_since": iso(result.next_since)}


DELIVERY_STATUS = Query("status", "Only deliveries in this state", enum=tuple(s.value for s in DeliveryStatus))
DELIVERIES_LIMIT = page_size(20, 100)


@endpoint(bp, "GET", "/v1/webhooks/{webhook_id}/deliveries",
          summary="The delivery log, newest first, every attempt with time, status code, latency and error "
                  "class; `?status=&limit=&cursor=`", tag="webhooks", auth="user", errors=(404,),
          query=(DELIVERY_STATUS, DELIVERIES_LIMIT, CURSOR))
def list_deliveries(call: Call, webhook_id: str) -> dict:
    raw_status = DELIVERY_STATUS.read(call.request)
    deliveries, cursor = container().webhooks.service.deliveries(
        call.user.user, webhook_id, limit=DELIVERIES_LIMIT.get(call.request), cursor=CURSOR.read(call.request),
        status=DeliveryStatus(raw_status) if raw_status else None)
    return {"deliveries": [delivery_view(d) for d in deliveries], "next_cursor": cursor}


@endpoint(bp, "POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
          summary="Send one delivery again (same `webhook-id`, same body), with a fresh retry schedule",
          tag="webhooks", auth="user", status=202, errors=(404, 409))
def redeliver(call: Call, webhook_id: str, delivery_id: str) -> dict:
    return delivery_view(container().webhooks.service.redeliver(call.user.user, webhook_id, delivery_id))
