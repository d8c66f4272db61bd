"""What the HubSpot wizard tests share: an administrator's client and the connect page's form
pointed at the sandbox (the sandbox's app and tokens: ``helpers``)."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import Role
from tests.factories import AccountFactory, MembershipFactory, UserFactory


def administrator_client(client) -> Any:
    """``client`` signed in as an administrator of a new account (``client.account``)."""
    account = AccountFactory()
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    client.account = account
    return client


def connect_form(hubspot, **extra: str) -> dict[str, str]:
    """The connect page's fields pointed at the sandbox (its Advanced addresses)."""
    return {"api_base": hubspot.url, "authorize_url": f"{hubspot.url}/oauth/authorize",
            "api_version": "2026-03", "client_id": "", **extra}
