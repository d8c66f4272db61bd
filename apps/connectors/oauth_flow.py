"""The OAuth authorization-code round trip of the CRM connect pages (Keap, HubSpot).

The connect page tries the administrator's settings on a staged connector
(``apps.connectors.staging``) and, for OAuth, leaves the attempt in the session under the
``state`` it sends to the CRM: the connection it describes and the credentials entered so far,
encrypted. The CRM's callback finds the attempt by its state; a state not ours, a refused
consent or a missing code answers the styled pages of ``apps.connectors.pages``; otherwise the
callback gets the staged connector back, ready for the kind's code exchange. Nothing is stored
on the connector until the CRM accepted it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from apps.accounts.selectors import is_administrator_of
from apps.core.crypto import decrypt_json, encrypt_json

from . import staging
from .models import Connector
from .pages import refused_callback, state_not_ours

#: OAuth attempts a session may have under way at once (older ones are dropped).
MAX_PENDING_STATES = 5


@dataclass(frozen=True)
class SignIn:
    """A callback that may go on: the connector, its staged copy with the attempt's connection
    and credentials, and the staged connection row."""

    connector: Connector
    trial: Connector
    row: Any
    code: str


@dataclass(frozen=True)
class OAuthFlow:
    """One CRM kind's round trip; its URL names are ``<kind>:connect``."""

    kind: str
    crm: str
    #: What the consent page asked for, in the sentence of a refusal ("to access the Keap app").
    what_to_allow: str
    #: The connection row of a (staged) connector, and the names of its fields an attempt keeps.
    connection_row: Callable[[Connector], Any]
    fields: Collection[str]

    @property
    def session_key(self) -> str:
        return f"{self.kind}_oauth_states"

    def connect_url(self, connector: Connector) -> str:
        return reverse(f"{self.kind}:connect", args=[connector.account.slug, connector.pk])

    def begin(self, request: HttpRequest, connector: Connector, *, state: str,
              connection: dict[str, Any], credentials: dict[str, Any]) -> None:
        """Keep the attempt until the CRM's callback names ``state``."""
        states = dict(request.session.get(self.session_key) or {})
        states[state] = {"connector": connector.pk, "pending": encrypt_json(
            {"connection": connection, "credentials": credentials})}
        request.session[self.session_key] = dict(list(states.items())[-MAX_PENDING_STATES:])

    def finish(self, request: HttpRequest) -> SignIn | HttpResponse:
        """The attempt the callback's ``state`` names, staged; or the page that says why the
        sign-in cannot complete. Each state is used once."""
        if not request.user.is_authenticated:
            raise PermissionDenied("Sign in first.")
        state = request.GET.get("state", "")
        states = dict(request.session.get(self.session_key) or {})
        attempt = states.pop(state, None) if state else None
        request.session[self.session_key] = states
        if not isinstance(attempt, dict):
            return state_not_ours(request, crm=self.crm, back_url=self._latest_connect_url(request, states))
        connector = get_object_or_404(Connector, pk=attempt["connector"], kind=self.kind)
        if not is_administrator_of(request.user, connector.account_id) and not request.user.is_superuser:
            raise PermissionDenied(f"Only administrators can connect {self.crm}.")
        refused = refused_callback(request, crm=self.crm, back_url=self.connect_url(connector),
                                   what_to_allow=self.what_to_allow)
        if refused is not None:
            return refused
        pending = decrypt_json(attempt["pending"])
        trial = staging.stage(connector)
        row = self.connection_row(trial)
        for name, value in pending["connection"].items():
            if name in self.fields:
                setattr(row, name, value)
        trial.credentials = pending["credentials"]
        return SignIn(connector=connector, trial=trial, row=row, code=request.GET["code"])

    def _latest_connect_url(self, request: HttpRequest, states: dict) -> str:
        """The connection step of the session's latest sign-in still under way, if any."""
        for attempt in reversed(list(states.values())):
            connector = Connector.objects.filter(pk=attempt.get("connector"), kind=self.kind).select_related(
                "account").first()
            if connector is not None and is_administrator_of(request.user, connector.account_id):
                return self.connect_url(connector)
        return ""
