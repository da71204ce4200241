"""The dashboard in a real browser (headless Chromium through Playwright) against `whatsam dev`:
a person signs up, creates a card, connects it, sees the QR, simulates the scan, watches it
turn `connected`, sends a test message and sees it read, adds a webhook endpoint whose first
delivery verifies with its secret, and sees usage; reloading keeps them signed in."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

# `scripts/ensure-test-tools` (run by `make test`) installs Debian's package as root.
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
# Without these, Chromium's background connections are refused by a closed network, many at a time.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


stack = module_stack("dashboard", "--workers", "1", env_overrides=FAST_FLEET)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM, "Chromium is needed for the dashboard test: run scripts/ensure-test-tools (or install it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    yield opened
    context.close()
    assert problems == [], "the page logged errors"


def test_a_person_links_a_number_sends_and_sees_webhooks_and_usage(stack: DevProcess, page: Page) -> None:
    page.goto(stack.base_url + "/")
    page.fill("#register-form [name=name]", "Ann")
    page.fill("#register-form [name=email]", f"ann-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#register-form [name=password]", "correct horse battery")
    page.click("#register-form button")
    page.wait_for_selector("#signed-in:not([hidden])")
    assert "BASIC" in page.inner_text("#who")

    page.fill("#create-session-form [name=name]", "Sales <b>desk</b>")
    page.click("#create-session-form button")
    page.wait_for_selector("#session-panel:not([hidden])")
    assert page.inner_text("#session-title") == "Sales <b>desk</b>", "user text is shown as text, never as HTML"

    page.click("#session-panel [data-op=connect]")
    page.wait_for_selector("#qr:not([hidden]) #qr-image[src^='data:image/png;base64,']", timeout=30_000)
    assert page.is_visible("#dev-scan"), "dev mode shows the simulated scan"
    page.click("#dev-scan")
    page.wait_for_selector("#session-meta .badge.connected", timeout=30_000)
    assert page.is_hidden("#qr")
    phone = page.inner_text("#sessions tr td:nth-child(3)")
    assert phone.isdigit()

    page.fill("#send-form [name=to]", "+14155552671")
    page.fill("#send-form [name=text]", "hello from the dashboard")
    page.click("#send-form button")
    page.wait_for_selector("#messages tr .badge", timeout=10_000)
    # The table reloads until the message is read (the simulated phone reads it), however long that takes.
    page.wait_for_selector("#messages tr .badge.read", timeout=60_000)

    receiver = Receiver()
    try:
        page.fill("#webhook-form [name=url]", receiver.url)
        page.fill("#webhook-form [name=events]", "webhook.test")
        page.click("#webhook-form button")
        secret = page.inner_text("#webhook-secret .secret", timeout=10_000)
        assert secret.startswith("whsec_")
        page.click("#webhooks button:has-text('Test')")
        [delivery] = receiver.wait_for(lambda got: len(got) >= 1)
        assert delivery.verify(secret)["type"] == "webhook.test"
        page.wait_for_selector("#deliveries .badge.succeeded", timeout=60_000)
    finally:
        receiver.close()

    page.reload()
    page.wait_for_selector("#signed-in:not([hidden])")
    page.wait_for_selector("#billing table")
    assert "Messages sent\t1" in page.inner_text("#billing")
    page.click("#sessions tr")
    page.wait_for_selector("#session-meta .badge.connected")
