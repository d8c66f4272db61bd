"""Step 1 outside the wizard (connect / reconnect, OAuth web-server flow) and the package download.

The remaining steps run in the shared wizard (``apps.connectors.wizard``), see ``wizard_steps``.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from apps.accounts.models import Role
from apps.accounts.permissions import account_view
from apps.connectors.errors import CrmError
from apps.connectors.models import Connector, ConnectorStatus

from . import metadata, services
from .client import SalesforceClient
from .forms import ConnectionForm
from .models import SalesforceConnection

SESSION_KEY = "salesforce_oauth"


def _redirect_uri(request, account) -> str:
    return request.build_absolute_uri(reverse("salesforce:oauth-callback", args=[account.slug]))


@account_view(role=Role.ADMINISTRATOR)
def connect(request, account, connector_id: int | None = None):
    """Create or reconnect a Salesforce connector: log in and check permissions (step 1)."""
    connector = (get_object_or_404(Connector, account=account, pk=connector_id, kind="salesforce")
                 if connector_id else Connector(account=account, kind="salesforce", name="Salesforce"))
    instance = SalesforceConnection.objects.filter(connector=connector).first() if connector.pk else None
    form = ConnectionForm(request.POST or None, instance=instance or SalesforceConnection(),
                          connector=connector, allow_authorize=True)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if connector.pk is None:
                name = form.cleaned_data.get("name") or "Salesforce"
                if Connector.objects.filter(account=account, name=name).exists():
                    form.add_error("name", "This account already has a connector with this name.")
                    return render(request, "salesforce/connect.html", {"account": account, "form": form})
                connector.name = name
                connector.status = ConnectorStatus.NOT_CONNECTED
                connector.save()
            form.connector = connector
            form.save()
        if form.needs_authorization:
            state = secrets.token_urlsafe(24)
            request.session[SESSION_KEY] = {"state": state, "connector": connector.pk}
            client = SalesforceClient(connector)
            return redirect(client.authorize_url(redirect_uri=_redirect_uri(request, account), state=state))
        messages.success(request, "Connected to Salesforce: the API user can create every record the "
                                  "connector needs.")
        return redirect("salesforce:wizard-step", account.slug, connector.pk, "installation")
    return render(request, "salesforce/connect.html",
                  {"account": account, "form": form, "connector": connector if connector.pk else None})


@account_view(role=Role.ADMINISTRATOR)
def oauth_callback(request, account):
    """Salesforce sends the browser back here with ``code`` (or ``error``) and our ``state``."""
    pending = request.session.get(SESSION_KEY) or {}
    if not pending or request.GET.get("state") != pending.get("state"):
        return HttpResponseBadRequest("This Salesforce authorization does not match a connection attempt.")
    connector = get_object_or_404(Connector, account=account, pk=pending["connector"], kind="salesforce")
    del request.session[SESSION_KEY]
    if request.GET.get("error"):
        messages.error(request, f"Salesforce did not authorize Bookbridge: "
                                f"{request.GET.get('error_description') or request.GET['error']}.")
        return redirect("salesforce:connect", account.slug, connector.pk)
    client = SalesforceClient(connector)
    try:
        tokens = client.exchange_code(code=request.GET.get("code", ""),
                                      redirect_uri=_redirect_uri(request, account),
                                      client_secret=connector.credentials.get("client_secret", ""))
        credentials = dict(connector.credentials or {})
        credentials.update(access_token=tokens["access_token"],
                           refresh_token=tokens.get("refresh_token") or credentials.get("refresh_token", ""))
        connector.credentials = credentials
        connector.save(update_fields=["credentials", "updated_at"])
        connection = SalesforceConnection.for_connector(connector)
        connection.instance_url = tokens["instance_url"]
        connection.save(update_fields=["instance_url"])
        client = SalesforceClient(connector)
        metadata.forget(client)
        missing = services.verify_connection(client)
    except (CrmError, ValueError) as exc:
        messages.error(request, f"Salesforce did not accept the connection: {getattr(exc, 'message', exc)}")
        return redirect("salesforce:connect", account.slug, connector.pk)
    if missing:
        for problem in missing:
            messages.error(request, problem)
        return redirect("salesforce:connect", account.slug, connector.pk)
    services.mark_connected(connector)
    messages.success(request, "Connected to Salesforce.")
    return redirect("salesforce:wizard-step", account.slug, connector.pk, "installation")


@account_view(role=Role.ADMINISTRATOR)
def metadata_package(request, account, connector_id: int):
    """The metadata package that creates the two custom Event fields (package.xml + Event.object)."""
    connector = get_object_or_404(Connector, account=account, pk=connector_id, kind="salesforce")
    version = SalesforceConnection.for_connector(connector).api_version
    response = HttpResponse(metadata.package_zip(version), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="bookbridge-salesforce-event-fields.zip"'
    return response
