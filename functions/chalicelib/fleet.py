from contextlib import suppress
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from whatsam.adapters.workers import worker_id_of_task
from whatsam.bootstrap import container
from whatsam.contracts.events import decode_event
from whatsam.errors import NotFound
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.presenters import worker_view
from whatsam.http.schemas import InternalEventsRequest
from whatsam.services.batch_reads import shared_reads
from whatsam.services.event_admission import RefusedEvent

bp = Blueprint(__name__)


def ingest_record(record: SQSRecord) -> None:
    # A refused event is logged by ingestion and dropped: redelivering it cannot change the answer.
    with suppress(RefusedEvent):
        container().ingestion.apply(decode_event(record.body))


def _ingest_batch(event: Any) -> PartialItemFailureResponse:
    # A processor per batch: it keeps the batch's outcomes, and locally both lanes run at once.
    # Its records are handled one after another on this thread, sharing the reads they may.
    with shared_reads():
        return process_partial_response(event=event.to_dict(), record_handler=ingest_record,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=event.context)


@bp.on_sqs_message(queue="events", batch_size=10)
def ingest_events(event: Any) -> PartialItemFailureResponse:
    return _ingest_batch(event)


@bp.on_sqs_message(queue="session-events", batch_size=10)
def ingest_session_events(event: Any) -> PartialItemFailureResponse:
    """Session status and QR events: the same ingestion, its own lane (see worker_fleet.emitter)."""
    return _ingest_batch(event)


# ECS reports a worker task stopping (killed, crashed, drained); template.yaml narrows the
# rule to the worker cluster. `whatsam dev` sends this very event when a worker process exits.
TASK_STOPPED = {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {"lastStatus": ["STOPPED"]}}


@bp.schedule("rate(1 minute)")
def reap_workers(event: Any) -> dict:
    return asdict(container().reaper.run())


@bp.on_cw_event(TASK_STOPPED)
def worker_task_stopped(event: Any) -> dict:
    """A worker's death noticed in seconds: its sessions move now, not once its heartbeat is stale."""
    return asdict(container().reaper.worker_stopped(worker_id_of_task(event.detail["taskArn"])))


@endpoint(bp, "POST", "/v1/internal/events", summary="Event ingestion for workers running outside AWS",
          tag="internal", auth="worker", body=InternalEventsRequest, status=202, errors=(409,))
def post_events(call: Call) -> dict:
    ingestion = container().ingestion
    with shared_reads():
        # Every event is checked before any is applied: a batch with a forged event writes nothing.
        for event in call.body.events:
            ingestion.admit(event)
        applied = sum(1 for event in call.body.events if ingestion.apply(event))
    return {"accepted": len(call.body.events), "applied": applied}


@endpoint(bp, "GET", "/v1/admin/workers", summary="The worker fleet", tag="admin", auth="admin")
def list_workers(call: Call) -> dict:
    return {"workers": [worker_view(w) for w in container().workers.list()]}


@endpoint(bp, "POST", "/v1/admin/workers/{worker_id}/drain",
          summary="Ask a worker to hand its sessions over and stop taking new ones", tag="admin", auth="admin",
          status=202, errors=(404,))
def drain_worker(call: Call, worker_id: str) -> dict:
    services = container()
    if not services.workers.set_status(worker_id, "draining", only_if="online"):
        worker = services.workers.get(worker_id)
        if worker is None:
            raise NotFound("No such worker.", code="worker_not_found")
        return worker_view(worker)
    worker = services.workers.get(worker_id)
    assert worker is not None
    return worker_view(worker)
