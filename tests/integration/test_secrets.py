"""Secrets read from Secrets Manager (the moto server, over HTTP), as the functions read them
in AWS: by the name the code computes or the ARN the template passes, once per process."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from whatsam.adapters.aws import client
from whatsam.config import JWT_KEY, REFRESH_TOKEN_KEY, SECRETS, WORKER_TOKEN, Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def provisioned(settings: Settings) -> Settings:
    """The test stack (provisioned as `whatsam dev` does) with no secret given by value."""
    return replace(settings, secret_values={})


def _stored(settings: Settings, secret_id: str) -> str:
    return str(client("secretsmanager", settings).get_secret_value(SecretId=secret_id)["SecretString"])


def test_provisioning_created_every_secret_with_its_own_random_value(provisioned: Settings) -> None:
    values = {spec.name: _stored(provisioned, f"{provisioned.resource_prefix}/{spec.name}") for spec in SECRETS}
    assert len(set(values.values())) == len(SECRETS) and all(len(v) >= 32 for v in values.values())


def test_settings_read_each_secret_from_secrets_manager(provisioned: Settings) -> None:
    assert provisioned.jwt_secret == _stored(provisioned, f"{provisioned.resource_prefix}/jwt-secret")
    assert provisioned.refresh_token_key == _stored(provisioned, f"{provisioned.resource_prefix}/refresh-token-key")
    assert provisioned.refresh_token_key != provisioned.jwt_secret


def test_the_template_passes_arns_and_they_are_read_too(provisioned: Settings) -> None:
    sm = client("secretsmanager", provisioned)
    arn = sm.describe_secret(SecretId=f"{provisioned.resource_prefix}/worker-token")["ARN"]
    by_arn = replace(provisioned, secret_ids={WORKER_TOKEN.name: arn})
    assert by_arn.worker_token == _stored(provisioned, arn)


def test_a_secret_is_read_once_per_process(provisioned: Settings, monkeypatch: Any) -> None:
    first = provisioned.jwt_secret
    calls = []
    sm = client("secretsmanager", provisioned)
    real = sm.get_secret_value
    monkeypatch.setattr(sm, "get_secret_value", lambda **kw: calls.append(kw) or real(**kw))
    for _ in range(3):
        assert provisioned.jwt_secret == first
    assert calls == [], "a cached secret costs no call"


def test_a_value_given_directly_wins_and_a_short_one_is_refused(provisioned: Settings) -> None:
    given = replace(provisioned, secret_values={REFRESH_TOKEN_KEY.name: "k" * 40})
    assert given.refresh_token_key == "k" * 40
    sm = client("secretsmanager", provisioned)
    name = f"{provisioned.resource_prefix}/short-{uuid.uuid4().hex[:6]}"
    sm.create_secret(Name=name, SecretString="too short")
    with pytest.raises(RuntimeError, match="at least 32"):
        _ = replace(provisioned, secret_ids={JWT_KEY.name: name}).jwt_secret


def test_a_missing_secret_is_an_error_not_an_empty_key(provisioned: Settings) -> None:
    missing = replace(provisioned, secret_ids={JWT_KEY.name: f"{provisioned.resource_prefix}/nothing-here"})
    with pytest.raises(Exception, match="ResourceNotFound"):
        _ = missing.jwt_secret
