"""Process-wide logging for the long-running commands (dev stack, worker, shards, CLI)."""

from __future__ import annotations

import logging
import sys

DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# INFO lines these libraries print once per client or process ("Found credentials in
# environment variables", pynamodb's settings file): dozens at start-up, none of them news.
_CHATTY = ("botocore.credentials", "pynamodb.settings")


def configure_logging(fmt: str = DEFAULT_FORMAT) -> None:
    logging.basicConfig(level=logging.INFO, format=fmt, stream=sys.stderr)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
