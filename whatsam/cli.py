"""The `whatsam` command."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import urllib.error
import urllib.request
from types import FrameType
from typing import Any

from whatsam import __version__
from whatsam.logs import configure_logging


def _dev(args: argparse.Namespace) -> int:
    from whatsam.dev.stack import DevOptions, DevStack

    stack = DevStack(DevOptions(host=args.host, port=args.port, workers=args.workers, engine=args.engine,
                                schedule_speedup=args.schedule_speedup))

    def _stop(signum: int, frame: FrameType | None) -> None:
        stack.stop_event.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
    except Exception as exc:
        print(f"whatsam dev: could not start: {exc}", file=sys.stderr)
        return 1
    print("Whatsam Gateway dev stack is up:", flush=True)
    for line in stack.banner:
        print(f"  {line}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    stack.wait()
    print("Stopping…", flush=True)
    stack.stop()
    print("Stopped.", flush=True)
    return 0


# How long `dev scan` and `dev inbound` wait for their effect (the API's long-poll ceiling).
_DEV_WAIT_SECONDS = 25


class _CliError(Exception):
    """A failure already phrased for the terminal."""


def _call_dev_stack(path: str, body: dict[str, Any] | None = None, *, wait: bool = True) -> dict[str, Any]:
    """POST to the running `whatsam dev` as its operator (long-polling for the effect when
    `wait`); its answer, or a _CliError."""
    from whatsam.dev.state import read_state

    try:
        state = read_state()
    except RuntimeError as exc:
        raise _CliError(str(exc)) from None
    url = f"{state['api']}{path}" + (f"?wait={_DEV_WAIT_SECONDS}" if wait else "")
    request = urllib.request.Request(  # noqa: S310 (the dev stack's own loopback URL)
        url, method="POST", data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {state['worker_token']}"})
    try:
        with urllib.request.urlopen(request, timeout=_DEV_WAIT_SECONDS + 30) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raise _CliError(_api_error(error)) from None
    except urllib.error.URLError as error:
        raise _CliError(f"cannot reach `whatsam dev` at {state['api']} ({error.reason}): is it still running?") \
            from None


def _api_error(error: urllib.error.HTTPError) -> str:
    """The API's error as one line: its message and code, and which fields were wrong."""
    try:
        problem = json.loads(error.read())["error"]
        fields = [f"{e['field']}: {e['message']}" for e in problem.get("details", {}).get("errors", [])]
        return " ".join([problem["message"], *fields, f"({problem['code']})"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"the dev stack answered HTTP {error.code}"


def _dev_scan(args: argparse.Namespace) -> int:
    """Prints the card after the scan, not before: connected, or an error saying it is not."""
    card = _call_dev_stack(f"/v1/dev/sessions/{args.session_id}/scan")
    print(json.dumps(card), flush=True)
    if card["status"] == "qr":
        raise _CliError(f"the phone scanned, but after {_DEV_WAIT_SECONDS} s the session is still `qr`: "
                        "see the `whatsam dev` terminal for its worker's log")
    return 0


def _dev_inbound(args: argparse.Namespace) -> int:
    """Prints the message the contact wrote (its id, sender, text), once the log holds it."""
    message = _call_dev_stack(f"/v1/dev/sessions/{args.session_id}/inbound", {"from": args.sender, "text": args.text})
    print(json.dumps(message), flush=True)
    if not message["stored"]:
        raise _CliError(f"the message went to the session's worker, but after {_DEV_WAIT_SECONDS} s it is not "
                        "in the message log: see the `whatsam dev` terminal for its worker's log")
    return 0


def _dev_simulate(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"type": args.type}
    for name in ("phone", "group", "subject", "text", "state", "name", "business_name", "message_id", "count"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.video:
        body["video"] = True
    if args.participants:
        body["participants"] = args.participants
    if args.options is not None:
        body["options"] = args.options
    print(json.dumps(_call_dev_stack(f"/v1/dev/sessions/{args.session_id}/simulate", body, wait=False)), flush=True)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from worker_fleet.main import run

    return run(args)


def _provision(args: argparse.Namespace) -> int:
    from whatsam.config import Settings
    from whatsam.resources import provision

    print(json.dumps(provision(Settings.from_env()), indent=2), flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="whatsam", description="Whatsam Gateway tools")
    parser.add_argument("--version", action="version", version=f"whatsam {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the whole stack on this machine")
    dev.add_argument("--host", default="127.0.0.1", help="API bind address (default 127.0.0.1)")
    dev.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    dev.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    dev.add_argument("--engine", choices=["simulated", "neonize"], default="simulated",
                     help="simulated WhatsApp (default) or neonize for a real phone")
    dev.add_argument("--schedule-speedup", type=float, default=1.0, help=argparse.SUPPRESS)
    dev.set_defaults(handler=_dev)
    dev_commands = dev.add_subparsers(dest="dev_command")
    scan = dev_commands.add_parser("scan", help="the simulated phone scans a session's QR code")
    scan.add_argument("session_id")
    scan.set_defaults(handler=_dev_scan)
    inbound = dev_commands.add_parser("inbound", help="a simulated contact writes to a session")
    inbound.add_argument("session_id")
    inbound.add_argument("--from", dest="sender", required=True, help="the contact's phone number")
    inbound.add_argument("--text", required=True)
    inbound.set_defaults(handler=_dev_inbound)
    simulate = dev_commands.add_parser("simulate", help="the simulated WhatsApp produces an event")
    simulate.add_argument("session_id")
    simulate.add_argument("type", help="group.added, group.join, group.leave, group.promote, group.demote, "
                                       "group.subject, group.announce, group.removed, group.request, group.message, "
                                       "call.ring, presence.update, chat.presence, contact.lid_message, contact.saved, "
                                       "poll.vote, status.post, message.played, history.sync, chat.read_on_phone")
    simulate.add_argument("--phone", help="who acts (all but message.played, contact.lid_message, history.sync)")
    simulate.add_argument("--count", type=int, help="history.sync: messages of history (default 50)")
    simulate.add_argument("--group", help="the group's JID (all but group.added)")
    simulate.add_argument("--subject")
    simulate.add_argument("--text")
    simulate.add_argument("--participant", dest="participants", action="append", help="repeatable")
    simulate.add_argument("--state", help="presence.update: available|unavailable; chat.presence: "
                                          "composing|recording|paused")
    simulate.add_argument("--video", action="store_true", help="call.ring: a video call")
    simulate.add_argument("--name", help="contact.*: push name (lid_message) or address-book name (saved)")
    simulate.add_argument("--business-name", dest="business_name", help="contact.saved: a business profile's name")
    simulate.add_argument("--message-id", help="poll.vote: the poll; message.played: the voice or video note")
    simulate.add_argument("--option", dest="options", action="append", help="poll.vote: an option chosen (repeatable)")
    simulate.set_defaults(handler=_dev_simulate)

    from worker_fleet.main import add_arguments

    worker = commands.add_parser("worker", help="run one worker of the fleet (the container's command)")
    add_arguments(worker)
    worker.set_defaults(handler=_worker)

    provision = commands.add_parser(
        "provision", help="create the tables, queues, buckets and key (e.g. in LocalStack); safe to repeat",
        description="Creates whatever is missing of whatsam.resources at AWS_ENDPOINT_URL under WHATSAM_PREFIX.")
    provision.set_defaults(handler=_provision)

    from whatsam.operator_cli import add_operator_commands

    add_operator_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except _CliError as exc:
        print(f"whatsam: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
