"""`whatsam dev` when its port is taken: a clear error, whichever moment it is found, and a
failed start that cleans up without errors of its own."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from chalice import Chalice
from chalice.config import Config

from whatsam.dev.local_gateway import PortTaken, local_server, require_free_port
from whatsam.dev.stack import DevOptions, DevStack
from whatsam.dev.state import write_state


@pytest.fixture
def taken_port() -> Iterator[int]:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_port_is_found_before_anything_starts(taken_port: int) -> None:
    with pytest.raises(PortTaken, match=f"port {taken_port} on 127.0.0.1 is taken.*--port"):
        require_free_port("127.0.0.1", taken_port)


def test_a_port_taken_after_the_check_is_named_too(taken_port: int) -> None:
    app = Chalice("port-test")
    with pytest.raises(PortTaken, match=f"port {taken_port}"):
        local_server(app, Config.create(chalice_app=app, stage="dev"), "127.0.0.1", taken_port)


def test_a_free_port_passes_the_check() -> None:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    require_free_port("127.0.0.1", port)


def test_stopping_a_half_started_stack_leaves_another_stacks_state_alone(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "dev-stack.json"
    monkeypatch.setenv("WHATSAM_DEV_STATE", str(state))
    write_state(api="http://127.0.0.1:8000")  # the stack already running on that port
    stack = DevStack(DevOptions(workers=0, print_qr=False))
    stack.threads.append(threading.Thread(target=lambda: None))  # created, never started
    stack.stop()  # no "cannot join thread before it is started"
    assert state.exists()
