"""Secrets in the deployed stack: they live in Secrets Manager under the names the code
computes; no function or worker is handed a secret's value in its environment (only its ARN);
each role may read only the secrets its function uses."""

from __future__ import annotations

import json
from typing import Any

from tests.deploy import cfn
from whatsam.config import API_KEY_PEPPER, JWT_KEY, REFRESH_TOKEN_KEY, SECRETS, WORKER_TOKEN, SecretSpec, Settings

NAMES = Settings(resource_prefix=cfn.PREFIX)
WORKER = "WorkerTaskDefinition/worker"
# Which secrets each process uses: the API signs and checks tokens, hashes API keys and
# checks the worker token; a worker posting events over HTTPS sends that token; no other
# handler touches a secret.
USES: dict[str, set[SecretSpec]] = {"ApiFunction": {JWT_KEY, REFRESH_TOKEN_KEY, API_KEY_PEPPER, WORKER_TOKEN},
                                    WORKER: {WORKER_TOKEN}}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _secret_resources() -> dict[str, str]:
    """Secrets Manager name (placeholder prefix) -> logical id."""
    return cfn.by_physical_name("AWS::SecretsManager::Secret", "Name")


def _logical_id(spec: SecretSpec) -> str:
    return _secret_resources()[NAMES.secret_id(spec)]


def _environments() -> dict[str, dict[str, Any]]:
    return {**{f: cfn.function_environment(f) for f in cfn.functions()}, **cfn.container_environments()}


def _role(user: str) -> str:
    if user in cfn.functions():
        return str(cfn.referenced_id(cfn.functions()[user]["Role"]))
    task_id = user.split("/")[0]
    return str(cfn.referenced_id(cfn.props(task_id)["TaskRoleArn"]))


def _secrets_readable_by(role_id: str) -> set[str]:
    readable = set()
    for policy in cfn.props(role_id).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = _as_list(statement["Action"])
            if any(a.startswith("secretsmanager:") for a in actions):
                assert actions == ["secretsmanager:GetSecretValue"], f"{role_id}: {actions}"
                readable |= {str(cfn.referenced_id(r)) for r in _as_list(statement["Resource"])}
    return readable


def test_every_secret_of_the_code_is_in_the_template_and_no_other() -> None:
    named = _secret_resources()
    missing = [spec.name for spec in SECRETS if NAMES.secret_id(spec) not in named]
    assert not missing, ("secrets of whatsam.config.SECRETS missing from template.yaml: "
                         + ", ".join(f'{m} (Name: !Sub "${{Prefix}}/{m}")' for m in missing))
    stray = set(cfn.resources("AWS::SecretsManager::Secret")) - {named[NAMES.secret_id(s)] for s in SECRETS}
    assert not stray, f"secrets the code does not define: {sorted(stray)}"


def test_no_function_or_worker_is_handed_a_secret_value() -> None:
    value_variables = {spec.value_env for spec in SECRETS}
    for user, variables in _environments().items():
        carried = sorted(value_variables & set(variables))
        assert not carried, f"{user} gets secret values in its environment: {carried}; pass the *_ID instead"
        text = json.dumps(variables)
        assert "{{resolve:" not in text, f"{user} resolves a dynamic reference into its environment: {text}"


def test_each_role_reads_exactly_the_secrets_its_function_uses_and_is_told_where_they_are() -> None:
    for user, variables in _environments().items():
        uses = USES.get(user, set())
        readable = _secrets_readable_by(_role(user))
        assert readable == {_logical_id(spec) for spec in uses}, (user, sorted(readable))
        given = {name: cfn.referenced_id(value) for name, value in variables.items()
                 if name in {spec.id_env for spec in SECRETS}}
        assert given == {spec.id_env: _logical_id(spec) for spec in uses}, (user, given)


def test_no_other_role_reads_a_secret() -> None:
    users = {_role(user) for user in _environments()}
    for role_id in cfn.resources("AWS::IAM::Role"):
        if role_id not in users:
            assert not _secrets_readable_by(role_id), f"{role_id} reads secrets but runs no function or worker"
