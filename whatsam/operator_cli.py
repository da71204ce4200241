"""Operator commands of `whatsam`: `usage sync`, `billing close`, `admin create-user`.

They run the services directly against a stack, never through the API:
- the running `whatsam dev` (its state file, .whatsam/dev-stack.json or WHATSAM_DEV_STATE),
  when AWS_ENDPOINT_URL and WHATSAM_PREFIX are both unset;
- otherwise the stack the environment names (AWS_ENDPOINT_URL, REDIS_URL, WHATSAM_PREFIX,
  AWS credentials), e.g. a deployed one from a machine inside its VPC.
Where they went is printed on stderr first, so a command never runs against a surprise."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from whatsam.config import Settings


def resolve_stack() -> tuple[Settings, str]:
    """The settings of the stack to act on, and a description of it."""
    env = os.environ
    if not env.get("AWS_ENDPOINT_URL") and not env.get("WHATSAM_PREFIX"):
        from whatsam.dev.processes import aws_test_credentials
        from whatsam.dev.state import read_state

        try:
            state = read_state()
        except RuntimeError:
            state = None
        if state and state.get("aws_endpoint_url"):
            for key, value in aws_test_credentials().items():
                env.setdefault(key, value)
            settings = replace(Settings.from_env(), aws_endpoint_url=state["aws_endpoint_url"],
                               redis_url=state["redis_url"], resource_prefix=state["prefix"],
                               aws_region=state.get("region", "us-east-1"))
            return settings, f"the running `whatsam dev` ({state.get('api')}, prefix {settings.resource_prefix})"
    settings = Settings.from_env()
    where = settings.aws_endpoint_url or f"AWS {settings.aws_region}"
    return settings, f"{where}, prefix {settings.resource_prefix}, Redis {_redacted(settings.redis_url)}"


def _redacted(url: str) -> str:
    """A Redis URL without its password, for the banner line."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return url


def _bound_stack() -> Settings:
    from whatsam.adapters.dynamo_models import bind_models

    settings, where = resolve_stack()
    print(f"whatsam: using {where}", file=sys.stderr, flush=True)
    bind_models(settings)
    return settings


def _billing(settings: Settings) -> Any:
    from whatsam.adapters.redis_client import redis_from_url
    from whatsam.adapters.repositories import SessionRepository
    from whatsam.metering import monthly_close, usage_sync
    from whatsam.metering.counters import UsageCounters
    from whatsam.metering.wiring import build_billing

    # These commands print the report on stdout; the jobs' own summary line (for the scheduled
    # Lambda's log) would repeat it on the terminal. Their warnings still show.
    for job in (usage_sync, monthly_close):
        logging.getLogger(job.__name__).setLevel(logging.WARNING)
    return build_billing(settings, UsageCounters(redis_from_url(settings.redis_url)), SessionRepository())


def _usage_sync(args: argparse.Namespace) -> int:
    settings = _bound_stack()
    if args.grace is not None:
        settings = replace(settings, usage_sync_grace_seconds=args.grace)
    print(json.dumps(_billing(settings).sync.run().to_dict()), flush=True)
    return 0


def _billing_close(args: argparse.Namespace) -> int:
    from whatsam.errors import AppError
    from whatsam.metering.periods import parse_month

    settings = _bound_stack()
    billing = _billing(settings)
    try:
        month = parse_month(args.month) if args.month else None
        synced = billing.sync.run()
        closed = billing.close.close(month) if month else billing.close.close_previous_month()
    except AppError as exc:
        print(f"whatsam: {exc.message} ({exc.code})", file=sys.stderr)
        return 1
    print(json.dumps({"sync": synced.to_dict(), "close": closed.to_dict()}), flush=True)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if args.password is not None:
        return str(args.password)
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the passwords do not match")
    return first


def _admin_create_user(args: argparse.Namespace) -> int:
    from whatsam.adapters.repositories import UserRepository
    from whatsam.domain.tiers import Tier
    from whatsam.errors import Conflict
    from whatsam.http.schemas import RegisterRequest
    from whatsam.services.admin import create_admin_user

    try:
        password = _read_password(args)
        # The same rules as sign-up: a valid email, a password of 8 to 256 characters.
        request = RegisterRequest(email=args.email, password=password, name=args.name or "")
    except ValueError as exc:
        problems = ([f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
                    if isinstance(exc, ValidationError) else [str(exc)])
        print("whatsam: " + "; ".join(problems), file=sys.stderr)
        return 2
    _bound_stack()
    try:
        user = create_admin_user(UserRepository(), email=request.email, password=request.password,
                                 name=request.name, tier=Tier(args.tier))
    except Conflict:
        print(f"whatsam: an account with the email {request.email} already exists; nothing was changed",
              file=sys.stderr)
        return 1
    print(json.dumps({"id": user.user_id, "email": user.email, "role": user.role.value, "tier": user.tier.value}),
          flush=True)
    return 0


def add_operator_commands(commands: Any) -> None:
    """Registers `usage`, `billing` and `admin` on the `whatsam` parser's subcommands."""
    usage = commands.add_parser("usage", help="usage counters (operators)")
    usage_commands = usage.add_subparsers(dest="usage_command", required=True)
    sync = usage_commands.add_parser(
        "sync", help="fold closed hours of the Redis usage counters into DynamoDB now (what the hourly schedule runs)")
    sync.add_argument("--grace", type=int, default=None, metavar="SECONDS",
                      help="fold hours that ended at least this long ago (default WHATSAM_USAGE_SYNC_GRACE, 300)")
    sync.set_defaults(handler=_usage_sync)

    billing = commands.add_parser("billing", help="billing (operators)")
    billing_commands = billing.add_subparsers(dest="billing_command", required=True)
    close = billing_commands.add_parser(
        "close", help="sync usage, then write each user's immutable statement of a finished month (safe to repeat)")
    close.add_argument("--month", help="YYYY-MM (default: the previous month)")
    close.set_defaults(handler=_billing_close)

    admin = commands.add_parser("admin", help="administrators (operators)")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser("create-user", help="create a user with role admin")
    create.add_argument("--email", required=True)
    secret = create.add_mutually_exclusive_group()
    secret.add_argument("--password", help="the password (visible to other local users in the process list; "
                                           "prefer the prompt or --password-stdin)")
    secret.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    create.add_argument("--name", default="")
    create.add_argument("--tier", choices=["BASIC", "PRO", "MAX"], default="BASIC")
    create.set_defaults(handler=_admin_create_user)
