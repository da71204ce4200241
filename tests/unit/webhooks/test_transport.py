"""The pinned transport against real local servers: it connects to the vetted address
only, sends the original Host (and TLS SNI, and checks the certificate for that name),
never follows a redirect, times out, and never reads the response body."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.webhook_receiver import Answer, Receiver, always
from whatsam.webhooks.ssrf import Target
from whatsam.webhooks.transport import PinnedTransport

BODY = b'{"type":"webhook.test","timestamp":"2024-05-01T10:00:00Z","data":{}}'
HEADERS = {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,x"}


def _target(receiver: Receiver, host: str = "hooks.example.test", *, addresses: tuple[str, ...] = ("127.0.0.1",),
            path: str = "/in?x=1") -> Target:
    return Target(scheme=receiver.scheme, host=host, port=receiver.port, host_header=f"{host}:{receiver.port}",
                  path=path, addresses=addresses)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_connects_to_the_pinned_address_with_the_original_host(receiver: Receiver) -> None:
    # hooks.example.test resolves nowhere: the request can only arrive through the pinned IP.
    outcome = PinnedTransport(timeout=5).post(_target(receiver), BODY, HEADERS)
    assert (outcome.ok, outcome.status_code, outcome.error) == (True, 200, None)
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert request.path == "/in?x=1" and request.body == BODY
    assert request.headers["webhook-id"] == "msg_1" and request.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("status", "error"), [(200, None), (204, None), (299, None), (301, "redirect"),
                                               (302, "redirect"), (307, "redirect"), (308, "redirect"),
                                               (400, "http_4xx"), (404, "http_4xx"), (410, "gone"),
                                               (429, "http_4xx"), (500, "http_5xx"), (503, "http_5xx")])
def test_status_classes(receiver: Receiver, status: int, error: str | None) -> None:
    receiver.script = always(status, ("Location", f"http://127.0.0.1:{receiver.port}/elsewhere"))
    outcome = PinnedTransport(timeout=5).post(_target(receiver), BODY, HEADERS)
    assert (outcome.status_code, outcome.error, outcome.ok) == (status, error, error is None)
    # Redirects are never followed: one request, to the original path.
    assert [r.path for r in receiver.requests] == ["/in?x=1"]


def test_retry_after_is_passed_on(receiver: Receiver) -> None:
    receiver.script = always(429, ("Retry-After", "120"))
    assert PinnedTransport(timeout=5).post(_target(receiver), BODY, HEADERS).retry_after == "120"


def test_a_slow_receiver_times_out(receiver: Receiver) -> None:
    receiver.script = lambda _n, _r: Answer(stall=5)
    outcome = PinnedTransport(timeout=0.5).post(_target(receiver), BODY, HEADERS)
    assert (outcome.status_code, outcome.error, outcome.ok) == (None, "timeout", False)


def test_the_response_body_is_never_read(receiver: Receiver) -> None:
    # Headers at once, the body only after 5 s: reading it would hit the 1 s timeout.
    receiver.script = lambda _n, _r: Answer(body=b"secret stuff " * 1000, stall_body=5)
    outcome = PinnedTransport(timeout=1).post(_target(receiver), BODY, HEADERS)
    assert (outcome.status_code, outcome.ok) == (200, True)
    assert not hasattr(outcome, "body")


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_refused_connection_is_a_connection_error() -> None:
    target = Target(scheme="http", host="hooks.example.test", port=_closed_port(), host_header="hooks.example.test",
                    path="/", addresses=("127.0.0.1",))
    outcome = PinnedTransport(timeout=2).post(target, BODY, HEADERS)
    assert (outcome.status_code, outcome.error) == (None, "connection_error")


def test_next_vetted_address_is_tried_only_when_nothing_was_sent(receiver: Receiver) -> None:
    # ::1 has no listener on this port; 127.0.0.1 has. Only vetted addresses are ever used.
    outcome = PinnedTransport(timeout=2).post(_target(receiver, addresses=("::1", "127.0.0.1")), BODY, HEADERS)
    assert outcome.ok
    assert len(receiver.requests) == 1


# ---------------------------------------------------------------- TLS


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey,
          *, ca: bool, names: list[str]) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str]]:
    """(server context for hooks.example.test, client context trusting only the test CA, SNI names seen)."""
    directory: Path = tmp_path_factory.mktemp("tls")
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Whatsam Test CA")])
    ca = _cert("Whatsam Test CA", ca_key, ca_name, ca_key, ca=True, names=[])
    leaf = _cert("hooks.example.test", leaf_key, ca_name, ca_key, ca=False, names=["hooks.example.test"])
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.key").write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    seen: list[str] = []
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "leaf.pem", directory / "leaf.key")
    server.sni_callback = lambda _sock, name, _ctx: seen.append(name) and None  # type: ignore[func-returns-value]
    client = ssl.create_default_context(cafile=str(directory / "ca.pem"))
    return server, client, seen


def test_https_sends_sni_and_checks_the_certificate_for_the_hostname(
        tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str]]) -> None:
    server_ctx, client_ctx, seen = tls
    receiver = Receiver(tls=server_ctx)
    try:
        outcome = PinnedTransport(timeout=5, ssl_context=client_ctx).post(_target(receiver), BODY, HEADERS)
        assert (outcome.status_code, outcome.error) == (200, None)
        assert seen[-1] == "hooks.example.test"
        assert receiver.requests[0].headers["host"] == f"hooks.example.test:{receiver.port}"
    finally:
        receiver.close()


def test_https_to_a_host_the_certificate_does_not_name_fails(
        tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str]]) -> None:
    server_ctx, client_ctx, _ = tls
    receiver = Receiver(tls=server_ctx)
    try:
        outcome = PinnedTransport(timeout=5, ssl_context=client_ctx).post(
            _target(receiver, host="evil.example.test"), BODY, HEADERS)
        assert (outcome.status_code, outcome.error) == (None, "tls_error")
        assert receiver.requests == []
    finally:
        receiver.close()


def test_https_with_an_untrusted_certificate_fails(tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str]]) -> None:
    server_ctx, _, _ = tls
    receiver = Receiver(tls=server_ctx)
    try:
        outcome = PinnedTransport(timeout=5).post(_target(receiver), BODY, HEADERS)
        assert outcome.error == "tls_error"
        assert receiver.requests == []
    finally:
        receiver.close()
