"""The emulator every test and `whatsam dev` use must run each DynamoDB request atomically,
as DynamoDB does: session limits, webhook-endpoint limits and leases are conditional writes,
and a racing pair that both pass one condition would be a failure of the emulator, not ours
(whatsam.dev.moto_server)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import boto3
from botocore.exceptions import ClientError

from whatsam.dev.processes import aws_test_credentials

RACERS = 8
LIMIT = 5
ROUNDS = 25


def _client(endpoint: str) -> Any:
    credentials = aws_test_credentials()
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=credentials["AWS_DEFAULT_REGION"],
                        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"])


def _race(clients: list[Any], table: str, owner: str) -> int:
    """Every client adds one to `owner`'s count below LIMIT, at the same instant; how many succeeded."""
    barrier = threading.Barrier(len(clients))
    succeeded: list[int] = []

    def create(client: Any) -> None:
        barrier.wait()
        try:
            client.transact_write_items(TransactItems=[
                {"Update": {"TableName": table, "Key": {"id": {"S": owner}}, "UpdateExpression": "ADD #c :one",
                            "ConditionExpression": "#c < :limit", "ExpressionAttributeNames": {"#c": "count"},
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(LIMIT)}}}},
                {"Put": {"TableName": table, "Item": {"id": {"S": uuid.uuid4().hex}},
                         "ConditionExpression": "attribute_not_exists(id)"}}])
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "TransactionCanceledException", exc
        else:
            succeeded.append(1)

    racers = [threading.Thread(target=create, args=(client,)) for client in clients]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    assert not any(racer.is_alive() for racer in racers)
    return len(succeeded)


def test_racing_conditional_transactions_never_pass_the_limit_together(aws_endpoint: str) -> None:
    admin = _client(aws_endpoint)
    table = f"atomicity-{uuid.uuid4().hex[:8]}"
    admin.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
    clients = [_client(aws_endpoint) for _ in range(RACERS)]
    for _ in range(ROUNDS):
        owner = uuid.uuid4().hex
        admin.put_item(TableName=table, Item={"id": {"S": owner}, "count": {"N": "0"}})
        succeeded = _race(clients, table, owner)
        item = admin.get_item(TableName=table, Key={"id": {"S": owner}}, ConsistentRead=True)
        assert (succeeded, int(item["Item"]["count"]["N"])) == (LIMIT, LIMIT)
