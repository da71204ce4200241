"""The `whatsam` command."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType


def _dev(args: argparse.Namespace) -> int:
    from whatsam.dev.stack import DevOptions, DevStack

    stack = DevStack(DevOptions(host=args.host, port=args.port))

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="whatsam", description="Whatsam Gateway tools")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the whole stack on this machine")
    dev.add_argument("--host", default="127.0.0.1", help="API bind address (default 127.0.0.1)")
    dev.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    dev.set_defaults(handler=_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
