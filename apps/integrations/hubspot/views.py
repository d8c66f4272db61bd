"""HubSpot connect/reconnect: OAuth with ``state`` (hubspot-api.md §2.1), or a static access
token (§2.2). The steps after it run in the shared wizard (``wizard_steps``)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from apps.accounts.models import Role
from apps.accounts.permissions import account_view
from apps.connectors import staging, wizard
from apps.connectors.csp import csp_form_redirects_to
from apps.connectors.errors import CrmError, crm_error_text
from apps.connectors.models import Connector
from apps.connectors.oauth_flow import OAuthFlow, SignIn
from apps.core.public_urls import public_url

from . import connection, oauth, services
from .forms import OAUTH, ConnectForm

OAUTH_FLOW = OAuthFlow(kind="hubspot", crm="HubSpot",
                       what_to_allow="to install its app in your HubSpot account",
                       connection_row=connection.for_connector, fields=connection.FIELDS)


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
            OAUTH_FLOW.begin(request, connector, state=state, connection=connection.values(row),
                             credentials=trial.credentials)
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
    sign_in = OAUTH_FLOW.finish(request)
    if not isinstance(sign_in, SignIn):
        return sign_in
    connector, trial = sign_in.connector, sign_in.trial
    try:
        oauth.exchange_code(trial, code=sign_in.code, redirect_uri=_redirect_uri(request))
        connection.check(trial)
    except CrmError as exc:
        messages.error(request, crm_error_text(exc, doing="finishing the sign-in"))
        return redirect("hubspot:connect", connector.account.slug, connector.pk)
    return _connected(request, connector, trial, "")
