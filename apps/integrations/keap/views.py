"""Keap connect/reconnect (OAuth with ``state``, or a Service Account Key) and the tracking code."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apps.accounts.models import Account, Role
from apps.accounts.permissions import account_view
from apps.accounts.selectors import is_administrator_of
from apps.connectors.errors import CrmError
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.owner_mapping import mapping_dict
from apps.directory.models import BookingPage

from . import connection, oauth, services
from .client import KeapClient
from .forms import ConnectForm
from .models import TrackingSettings

STATE_SESSION_KEY = "keap_oauth_states"


def _redirect_uri(request) -> str:
    return request.build_absolute_uri(reverse("keap:oauth-callback"))


@account_view(role=Role.ADMINISTRATOR)
def connect(request, account, connector_id: int):
    connector = get_object_or_404(Connector, account=account, pk=connector_id, kind="keap")
    form = ConnectForm(request.POST or None, connector=connector)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        connection.set_config(
            connector,
            **{k: data[k] for k in ("auth_method", "client_id", "api_base", "token_url", "authorize_url")},
        )
        creds = dict(connector.credentials or {})
        if data.get("client_secret"):
            creds["client_secret"] = data["client_secret"]
        if data.get("service_account_key"):
            creds["service_account_key"] = data["service_account_key"]
        connector.credentials = creds
        connector.save()
        services.forget_metadata(connector)
        if data["auth_method"] == connection.OAUTH:
            state = oauth.new_state()
            states = request.session.get(STATE_SESSION_KEY, {})
            states[state] = connector.pk
            request.session[STATE_SESSION_KEY] = states
            return redirect(oauth.authorize_url(connector, redirect_uri=_redirect_uri(request), state=state))
        try:
            KeapClient(connector).get("/setting/application/configuration")
        except CrmError as exc:
            connector.status = ConnectorStatus.DISCONNECTED
            connector.status_detail = exc.message
            connector.save(update_fields=["status", "status_detail", "updated_at"])
            messages.error(request, f"Keap did not accept the key: {exc.message}")
        else:
            _connected(connector)
            messages.success(request, "Connected to Keap with the Service Account Key.")
            return redirect("keap:wizard", account.slug, connector.pk)
    return render(request, "keap/connect.html", {"account": account, "connector": connector, "form": form})


def _connected(connector: Connector) -> None:
    connector.status = ConnectorStatus.CONNECTED
    connector.status_detail = ""
    connector.save(update_fields=["status", "status_detail", "updated_at"])


def oauth_callback(request):
    """Keap redirects here with ``code`` and our ``state``; the state must be one we issued."""
    if not request.user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    state = request.GET.get("state", "")
    states = request.session.get(STATE_SESSION_KEY, {})
    connector_id = states.pop(state, None) if state else None
    request.session[STATE_SESSION_KEY] = states
    if connector_id is None:
        return HttpResponse(
            "This Keap authorization is not one this session started (state mismatch). "
            "Start again from the connector's Connect page.",
            status=400,
        )
    connector = get_object_or_404(Connector, pk=connector_id, kind="keap")
    if not is_administrator_of(request.user, connector.account_id) and not request.user.is_superuser:
        raise PermissionDenied("Only administrators can connect Keap.")
    if request.GET.get("error"):
        messages.error(
            request,
            "Keap did not authorize the connection: "
            + (request.GET.get("error_description") or request.GET["error"]),
        )
        return redirect("keap:connect", connector.account.slug, connector.pk)
    try:
        oauth.exchange_code(connector, code=request.GET.get("code", ""), redirect_uri=_redirect_uri(request))
    except CrmError as exc:
        messages.error(request, f"Could not connect to Keap: {exc.message}")
        return redirect("keap:connect", connector.account.slug, connector.pk)
    messages.success(request, "Connected to Keap.")
    return redirect("keap:wizard", connector.account.slug, connector.pk)


@require_GET
def tracking_code(request, account_slug: str, booking_page_id: str):
    """The Keap tracking snippet for a booking page's form, if tracking is on and its owner is
    connected (mapped to a Keap user) in an active Keap connector; otherwise empty."""
    account = get_object_or_404(Account, slug=account_slug)
    page = (
        BookingPage.objects.filter(account=account, external_id=booking_page_id)
        .select_related("owner")
        .first()
    )
    snippets = []
    for connector in Connector.objects.filter(
        account=account, kind="keap", is_active=True, status=ConnectorStatus.CONNECTED
    ):
        tracking = (
            TrackingSettings.objects.filter(connector=connector, enabled=True).exclude(snippet="").first()
        )
        if tracking is None or page is None or page.owner is None:
            continue
        if page.owner.external_id in mapping_dict(connector):
            snippets.append(tracking.snippet)
    response = HttpResponse("\n".join(snippets), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response
