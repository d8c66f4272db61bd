"""HubSpot connect/reconnect: OAuth with ``state`` (hubspot-api.md §2.1), or a static access
token (§2.2). The steps after it run in the shared wizard (``wizard_steps``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from apps.accounts.models import Role
from apps.accounts.permissions import account_view
from apps.accounts.selectors import is_administrator_of
from apps.connectors import staging, wizard
from apps.connectors.csp import csp_form_redirects_to
from apps.connectors.errors import CrmError, crm_error_text
from apps.connectors.models import Connector
from apps.connectors.pages import refused_callback, state_not_ours
from apps.core.crypto import decrypt_json, encrypt_json
from apps.core.public_urls import public_url

from . import connection, oauth, services
from .forms import OAUTH, ConnectForm

STATE_SESSION_KEY = "hubspot_oauth_states"
#: OAuth attempts a session may have under way at once (older ones are dropped).
MAX_PENDING_STATES = 5


def _redirect_uri(request) -> str:
    return public_url(reverse("hubspot:oauth-callback"), request)


def _connected(request, connector: Connector, trial: Connector, how: str):
    services.store_connection(connector=connector, trial=trial)
    portal = connection.for_connector(connector).portal_id
    messages.success(request, f"Connected to HubSpot{f' (account {portal})' if portal else ''}{how}.")
    return redirect("hubspot:wizard", connector.account.slug, connector.pk)


@account_view(role=Role.ADMINISTRATOR)
@csp_form_redirects_to(connection.HOSTS)  # the OAuth form is redirected to HubSpot
def connect(request, account, connector_id: int):
    """Connect or reconnect. Nothing is stored until HubSpot accepted it: a static token is
    checked first; an OAuth attempt waits (encrypted, in the session) for HubSpot's callback."""
    connector = get_object_or_404(Connector, account=account, pk=connector_id, kind="hubspot")
    # Tried on a staged copy (``apps.connectors.staging``): its connection row stays in memory.
    form = ConnectForm(request.POST or None, connector=connector, trial=staging.stage(connector))
    if request.method == "POST" and form.is_valid():
        trial = form.trial_connector()
        row = connection.for_connector(trial)
        if form.cleaned_data["auth_method"] == OAUTH:
            state = oauth.new_state()
            states = dict(request.session.get(STATE_SESSION_KEY) or {})
            values = connection.values(row)
            states[state] = {"connector": connector.pk, "pending": encrypt_json(
                {"connection": values, "credentials": trial.credentials})}
            request.session[STATE_SESSION_KEY] = dict(list(states.items())[-MAX_PENDING_STATES:])
            return redirect(oauth.authorize_url(row, redirect_uri=_redirect_uri(request), state=state))
        try:
            connection.check(trial)
        except CrmError as exc:
            form.add_error("static_token", crm_error_text(exc, doing="checking the connection"))
        else:
            return _connected(request, connector, trial, " with the access token")
    nav = wizard.navigation(request, connector, wizard.CONNECTION)
    return render(request, "hubspot/connect.html", {"account": account, "connector": connector, "form": form,
                                                    "nav": nav, "redirect_uri": _redirect_uri(request)})


def oauth_callback(request):
    """HubSpot redirects here with ``code`` and our ``state``; the state must be one we issued.
    A callback that cannot complete the sign-in (unknown state, consent refused, no code)
    answers the styled error page, with the way back to the connection step."""
    if not request.user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    state = request.GET.get("state", "")
    states = dict(request.session.get(STATE_SESSION_KEY) or {})
    attempt = states.pop(state, None) if state else None
    request.session[STATE_SESSION_KEY] = states
    if not isinstance(attempt, dict):
        return state_not_ours(request, crm="HubSpot", back_url=_latest_connect_url(request, states))
    connector = get_object_or_404(Connector, pk=attempt["connector"], kind="hubspot")
    if not is_administrator_of(request.user, connector.account_id) and not request.user.is_superuser:
        raise PermissionDenied("Only administrators can connect HubSpot.")
    back_url = reverse("hubspot:connect", args=[connector.account.slug, connector.pk])
    refused = refused_callback(request, crm="HubSpot", back_url=back_url,
                               what_to_allow="to install its app in your HubSpot account")
    if refused is not None:
        return refused
    pending = decrypt_json(attempt["pending"])
    trial = staging.stage(connector)
    row = connection.for_connector(trial)
    for name, value in pending["connection"].items():
        if name in connection.FIELDS:
            setattr(row, name, value)
    trial.credentials = pending["credentials"]
    try:
        oauth.exchange_code(trial, code=request.GET["code"], redirect_uri=_redirect_uri(request))
        connection.check(trial)
    except CrmError as exc:
        messages.error(request, crm_error_text(exc, doing="finishing the sign-in"))
        return redirect("hubspot:connect", connector.account.slug, connector.pk)
    return _connected(request, connector, trial, "")


def _latest_connect_url(request, states: dict) -> str:
    """The connection step of the session's latest HubSpot sign-in still under way, if any."""
    for attempt in reversed(list(states.values())):
        connector = Connector.objects.filter(pk=attempt.get("connector"), kind="hubspot").select_related(
            "account").first()
        if connector is not None and is_administrator_of(request.user, connector.account_id):
            return reverse("hubspot:connect", args=[connector.account.slug, connector.pk])
    return ""
