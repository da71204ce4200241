"""`whatsam dev` prints each new QR code in its terminal, to scan with a real phone
(`--engine neonize`) or to see what the simulated one shows."""

from __future__ import annotations

import io
import json
import threading

import qrcode
import redis

from whatsam.adapters.session_cache import QR_CHANNEL


def render_qr(data: str) -> str:
    code = qrcode.QRCode(border=1)
    code.add_data(data)
    buffer = io.StringIO()
    code.print_ascii(out=buffer, invert=True)
    return buffer.getvalue()


class TerminalQrPrinter(threading.Thread):
    def __init__(self, client: redis.Redis, stop: threading.Event):
        super().__init__(name="terminal-qr", daemon=True)
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(QR_CHANNEL)
        self._halt = stop

    def run(self) -> None:
        while not self._halt.is_set():
            message = self._pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            payload = json.loads(message["data"])
            print(f"\nQR code for session {payload['session_id']} (scan it, or run "
                  f"`whatsam dev scan {payload['session_id']}`):\n{render_qr(payload['qr'])}", flush=True)
        self._pubsub.close()
