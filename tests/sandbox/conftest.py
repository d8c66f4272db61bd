"""Sandbox tests run without Django (``-p no:django``) and need the sandbox fixtures.

The plugin is registered here only if ``tests/conftest.py`` has not registered it already:
a plain ``pytest_plugins`` in a non-root conftest breaks runs that start from the repo root.
"""

from __future__ import annotations

import pytest

PLUGIN = "tests.fixtures.sandboxes"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


SERVICE_KEY = "sandbox-service-account-key"
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"


@pytest.fixture(scope="session")
def keap_contract(keap_sandbox):
    from tests.sandbox.keap_openapi import KeapContract

    return KeapContract(keap_sandbox.url)


@pytest.fixture
def keap_api(keap, keap_contract):
    """Contract-checked session authenticated with the Service Account Key."""
    from tests.sandbox.keap_openapi import ContractSession

    with ContractSession(keap.url, keap_contract) as session:
        session.headers["X-Keap-API-Key"] = SERVICE_KEY
        yield session
