"""Shared Playwright fixtures for browser tests: the SYSTEM Chromium, headless.

* ``browser`` (module scope, so it never overlaps another module's Playwright): a launched
  Chromium (``/usr/bin/chromium`` or ``$BOOKBRIDGE_CHROMIUM``); reuses a Chromium that another
  fixture of this thread already launched (the sync API cannot run twice in one thread).
* ``page`` (function): a fresh context + page (1400×1000, 15 s default timeout).
* ``login_as(page, user, password=PASSWORD)``: signs in through the portal's login page on
  pytest-django's ``live_server`` and lands on the home page.
* ``screenshot(page, name)``: saves ``test-artifacts/<name>.png``.

Use with ``pytest.mark.django_db(transaction=True)`` (the live server reads the test database).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.fixtures.services import require

CHROMIUM = os.environ.get("BOOKBRIDGE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory's


def _running_browser():
    """A Chromium another session fixture of this thread already launched (one Playwright per
    thread: the sync API cannot be started twice), or None."""
    import gc

    from playwright.sync_api import Browser

    # type(), not isinstance(): isinstance() reads __class__, which evaluates lazy objects (a
    # finished request's ``csp_nonce`` raises when read, by django-csp's design).
    return next((b for b in gc.get_objects() if issubclass(type(b), Browser) and b.is_connected()), None)


@pytest.fixture(scope="module")
def browser():
    require(
        Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
        f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium)",
    )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls between browser steps
    existing = _running_browser()
    try:
        if existing is not None:
            yield existing
        else:
            with sync_playwright() as playwright:
                launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    yield launched
                finally:
                    launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    new_page = context.new_page()
    yield new_page
    context.close()


@pytest.fixture
def login_as(live_server):
    def login(page, user, password: str = PASSWORD) -> None:
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_load_state()
        assert "/login/" not in page.url, "login failed"

    return login


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
