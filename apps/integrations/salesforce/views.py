"""Step 1 outside the wizard (connect / reconnect, OAuth web-server flow) and the package download.

The remaining steps run in the shared wizard (``apps.connectors.wizard``), see ``wizard_steps``.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from apps.accounts.models import Role
from apps.accounts.permissions import account_view
from apps.connectors import wizard
from apps.connectors.csp import csp_form_redirects_to
from apps.connectors.errors import CrmError, crm_error_text
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.pages import refused_callback, state_not_ours
from apps.connectors.tokens import store_credentials
from apps.core.crypto import decrypt_json, encrypt_json
from apps.core.public_urls import public_url

from . import metadata, oauth
from .client import DEFAULT_API_VERSION, SalesforceClient
from .connection import HOSTS, mark_connected, normalize_base_url, verify_connection
from .forms import ConnectForm
from .models import SalesforceConnection

SESSION_KEY = "salesforce_oauth"


def _redirect_uri(request, account) -> str:
    return public_url(reverse("salesforce:oauth-callback", args=[account.slug]), request)


@account_view(role=Role.ADMINISTRATOR)
@csp_form_redirects_to(HOSTS)  # the OAuth form is redirected to Salesforce's login URL
def connect(request, account, connector_id: int | None = None):
    """Create or reconnect a Salesforce connector: log in and check permissions (step 1)."""
    connector = (get_object_or_404(Connector, account=account, pk=connector_id, kind="salesforce")
                 # A new connector is a draft until "Review and go live" (apps.connectors.wizard).
                 if connector_id else Connector(account=account, kind="salesforce", name="Salesforce",
                                                live_since=None))
    instance = SalesforceConnection.objects.filter(connector=connector).first() if connector.pk else None
    form = ConnectForm(request.POST or None, instance=instance or SalesforceConnection(),
                          connector=connector, allow_authorize=True)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if connector.pk is None:
                name = form.cleaned_data.get("name") or "Salesforce"
                if Connector.objects.filter(account=account, name=name).exists():
                    form.add_error("name", "This account already has a connector with this name.")
                    return render(request, "salesforce/connect.html", {
                        "account": account, "form": form, "redirect_uri": _redirect_uri(request, account)})
                connector.name = name
                connector.status = ConnectorStatus.NOT_CONNECTED
                connector.save()
        form.connector = connector
        if not form.needs_authorization:
            form.save()  # the trial login of the form proved it
        else:
            # Nothing is stored until Salesforce authorized it: the attempt waits, encrypted,
            # in the session for the callback.
            state = secrets.token_urlsafe(24)
            verifier, challenge = oauth.pkce_pair()
            values = {name: form.cleaned_data.get(name) or "" for name in ConnectForm.Meta.fields}
            attempt = {"connection": values, "credentials": {k: v for k, v in form.secrets.items() if v},
                       "code_verifier": verifier}
            request.session[SESSION_KEY] = {"state": state, "connector": connector.pk,
                                            "pending": encrypt_json(attempt)}
            trial = _pending_connection(connector, values)
            client = SalesforceClient(connector, connection=trial, credentials={})
            return redirect(client.authorize_url(redirect_uri=_redirect_uri(request, account), state=state,
                                                 code_challenge=challenge))
        messages.success(request, "Connected to Salesforce: the API user can create every record the "
                                  "connector needs.")
        return redirect("salesforce:wizard-step", account.slug, connector.pk, "installation")
    return render(request, "salesforce/connect.html",
                  {"account": account, "form": form, "connector": connector if connector.pk else None,
                   "redirect_uri": _redirect_uri(request, account),
                   "nav": wizard.navigation(request, connector, wizard.CONNECTION) if connector.pk else []})


@account_view(role=Role.ADMINISTRATOR)
def oauth_callback(request, account):
    """Salesforce sends the browser back here with ``code`` (or ``error``) and our ``state``.
    A callback that cannot complete the sign-in (unknown state, consent refused, no code)
    answers the styled error page, with the way back to the connection step."""
    pending = request.session.get(SESSION_KEY) or {}
    started = Connector.objects.filter(account=account, pk=pending.get("connector"),
                                       kind="salesforce").first()
    back_url = (reverse("salesforce:connect", args=[account.slug, started.pk]) if started
                else reverse("salesforce:new", args=[account.slug]))
    if not pending.get("pending") or request.GET.get("state") != pending.get("state"):
        return state_not_ours(request, crm="Salesforce", back_url=back_url)
    connector = get_object_or_404(Connector, account=account, pk=pending["connector"], kind="salesforce")
    del request.session[SESSION_KEY]
    refused = refused_callback(request, crm="Salesforce", back_url=back_url,
                               what_to_allow="access to the org")
    if refused is not None:
        return refused
    attempt = decrypt_json(pending["pending"])
    trial = _pending_connection(connector, attempt["connection"])
    credentials = attempt["credentials"]
    try:
        trial_client = SalesforceClient(connector, connection=trial, credentials=credentials)
        answer = trial_client.exchange_code(
            code=request.GET["code"], redirect_uri=_redirect_uri(request, account),
            client_secret=credentials.get("client_secret", ""), code_verifier=attempt["code_verifier"])
        instance_url = normalize_base_url(answer["instance_url"])
        trial_client.negotiate_version(instance_url)
        with transaction.atomic():  # authorized: store what was entered, with its tokens
            trial.instance_url = instance_url
            trial.save()
            store_credentials(connector, {**credentials, "access_token": answer["access_token"],
                                          "refresh_token": answer.get("refresh_token", "")})
        client = SalesforceClient(connector)
        metadata.forget(client)
        missing = verify_connection(client)
    except CrmError as exc:
        messages.error(request, crm_error_text(exc, doing="finishing the sign-in"))
        return redirect("salesforce:connect", account.slug, connector.pk)
    except ValueError as exc:  # the instance URL Salesforce named: refused in words (normalize_base_url)
        messages.error(request, f"Salesforce did not accept the connection: {exc}")
        return redirect("salesforce:connect", account.slug, connector.pk)
    if missing:
        for problem in missing:
            messages.error(request, problem)
        return redirect("salesforce:connect", account.slug, connector.pk)
    mark_connected(connector)
    messages.success(request, "Connected to Salesforce.")
    return redirect("salesforce:wizard-step", account.slug, connector.pk, "installation")


def _pending_connection(connector: Connector, values: dict) -> SalesforceConnection:
    """The connection row with the values of an attempt applied in memory (not saved)."""
    connection = SalesforceConnection.for_connector(connector)
    for name, value in values.items():
        setattr(connection, name, value)
    return connection


@account_view(role=Role.ADMINISTRATOR)
def metadata_package(request, account, connector_id: int):
    """The metadata package that creates the two custom Event fields (package.xml + Event.object)."""
    connector = get_object_or_404(Connector, account=account, pk=connector_id, kind="salesforce")
    version = SalesforceConnection.for_connector(connector).version_in_use or DEFAULT_API_VERSION
    response = HttpResponse(metadata.package_zip(version), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="bookbridge-salesforce-event-fields.zip"'
    return response
