"""Admin sign-in helpers for browser tests (and fallback fixtures, kept for tests that import
them; new tests use ``browser`` / ``page`` / ``login_as`` from ``tests/e2e/conftest.py``)."""

from __future__ import annotations

import pytest

ARTIFACTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def console_browser(browser):
    """The shared Chromium of ``tests/e2e/conftest.py`` (one Playwright per thread)."""
    return browser


@pytest.fixture
def console_page(page):
    return page


def admin_login(page, base_url: str, user, password: str) -> None:
    """Sign in through Django admin's own login form."""
    page.context.clear_cookies()
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def admin_logout(page) -> None:
    page.click("#logout-form button")
