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


def test_queries_answer_the_same_when_handed_only_their_candidates(aws_endpoint: str) -> None:
    """The emulator hands a Query only its partition (or the items holding an index's key
    values); what it answers, page by page and in order, is what DynamoDB answers."""
    client = _client(aws_endpoint)
    table = f"narrow-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                              (("pk", "S"), ("sk", "N"), ("group", "S"), ("at", "S"))],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-group", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "group", "KeyType": "HASH"},
                                               {"AttributeName": "at", "KeyType": "RANGE"}]}])
    for number in range(60):
        item = {"pk": {"S": f"p{number % 3}"}, "sk": {"N": str(number)}, "at": {"S": f"{59 - number:03d}"}}
        if number % 4:
            item["group"] = {"S": f"g{number % 2}"}  # some items are not in the index at all
        client.put_item(TableName=table, Item=item)
    client.delete_item(TableName=table, Key={"pk": {"S": "p0"}, "sk": {"N": "3"}})

    def pages(**query: Any) -> list[list[str]]:
        answered, start = [], None
        while True:
            page = client.query(TableName=table, Limit=7, **query, **({"ExclusiveStartKey": start} if start else {}))
            answered.append([item["sk"]["N"] for item in page["Items"]])
            start = page.get("LastEvaluatedKey")
            if not start:
                return answered

    in_p0 = pages(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p0"}},
                  ScanIndexForward=False)
    assert [sk for page in in_p0 for sk in page] == [str(n) for n in range(57, -1, -3) if n != 3]
    assert all(len(page) <= 7 for page in in_p0)
    assert pages(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "nobody"}}) == [[]]
    in_g1 = pages(IndexName="by-group", KeyConditionExpression="#g = :g AND #a > :a",
                  ExpressionAttributeNames={"#g": "group", "#a": "at"},
                  ExpressionAttributeValues={":g": {"S": "g1"}, ":a": {"S": "010"}})
    assert [sk for page in in_g1 for sk in page] == [str(n) for n in range(48, 0, -1) if n % 2 and n != 3]
