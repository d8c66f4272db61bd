"""Keap connect/reconnect (OAuth with ``state``, or a Service Account Key) and the tracking code."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apps.accounts.models import Role
from apps.accounts.permissions import account_view
from apps.accounts.selectors import account_by_slug
from apps.connectors import staging, wizard
from apps.connectors.csp import csp_form_redirects_to
from apps.connectors.errors import CrmError, crm_error_text
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.oauth_flow import OAuthFlow, SignIn
from apps.connectors.owner_mapping import mapping_dict
from apps.core.public_urls import public_url
from apps.directory.models import BookingPage

from . import connection, oauth, services, tracking
from .client import KeapClient
from .forms import ConnectForm
from .models import TrackingSettings

OAUTH_FLOW = OAuthFlow(kind="keap", crm="Keap", what_to_allow="to access the Keap app",
                       connection_row=connection.for_connector, fields=connection.FIELDS)


def _redirect_uri(request) -> str:
    return public_url(reverse("keap:oauth-callback"), request)




@account_view(role=Role.ADMINISTRATOR)
@csp_form_redirects_to(connection.HOSTS)  # the OAuth form is redirected to Keap
def connect(request, account, connector_id: int):
    """Connect or reconnect. Nothing is stored until Keap accepted it: the Service Account Key
    is tried first; an OAuth attempt waits (encrypted, in the session) for Keap's callback."""
    connector = get_object_or_404(Connector, account=account, pk=connector_id, kind="keap")
    # The attempt is tried on a staged copy (``apps.connectors.staging``): its connection row
    # stays in memory until Keap accepted it.
    form = ConnectForm(request.POST or None, connector=connector, trial=staging.stage(connector))
    if request.method == "POST" and form.is_valid():
        trial = form.trial_connector()
        row = connection.for_connector(trial)
        if form.cleaned_data["auth_method"] == connection.OAUTH:
            state = oauth.new_state()
            OAUTH_FLOW.begin(request, connector, state=state, connection=connection.values(row),
                             credentials=trial.credentials)
            return redirect(oauth.authorize_url(row, redirect_uri=_redirect_uri(request), state=state))
        try:
            KeapClient(trial, connection=row).get("/setting/application/configuration")
        except CrmError as exc:
            form.add_error("service_account_key",
                           crm_error_text(exc, doing="checking the Service Account Key"))
        else:
            services.store_connection(connector=connector, trial=trial)
            messages.success(request, "Connected to Keap with the Service Account Key.")
            return redirect("keap:wizard", account.slug, connector.pk)
    nav = wizard.navigation(request, connector, wizard.CONNECTION)
    return render(request, "keap/connect.html", {"account": account, "connector": connector, "form": form,
                                                 "nav": nav, "redirect_uri": _redirect_uri(request)})


def oauth_callback(request):
    """Keap redirects here with ``code`` and our ``state``; the state must be one we issued.
    A callback that cannot complete the sign-in (unknown state, consent refused, no code)
    answers the styled error page, with the way back to the connection step."""
    sign_in = OAUTH_FLOW.finish(request)
    if not isinstance(sign_in, SignIn):
        return sign_in
    connector, trial, row = sign_in.connector, sign_in.trial, sign_in.row
    try:
        oauth.exchange_code(trial, code=sign_in.code, redirect_uri=_redirect_uri(request),
                            client=KeapClient(trial, connection=row))
    except CrmError as exc:
        messages.error(request, crm_error_text(exc, doing="finishing the sign-in"))
        return redirect("keap:connect", connector.account.slug, connector.pk)
    services.store_connection(connector=connector, trial=trial)
    messages.success(request, "Connected to Keap.")
    return redirect("keap:wizard", connector.account.slug, connector.pk)


#: Headers of every tracking answer. The body is JavaScript for a booking form's
#: ``<script src>``; opened as a page it is inert: not sniffed as HTML, and sandboxed (an opaque
#: origin, no script, no cookies of the portal) by its own Content-Security-Policy.
TRACKING_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",  # booking forms live on the scheduler's site
    # Nothing in it is per-user (no session is read), so shared caches may keep it a while.
    "Cache-Control": "public, max-age=300",
}


def _tracking_script_urls(account_slug: str, booking_page_id: str) -> list[str]:
    """Keap tracking script URLs for a booking page's form: tracking on, and the page's owner
    mapped to a Keap user in an active, connected Keap connector of the account."""
    account = account_by_slug(account_slug)  # cached, unknown slugs too: no query per request
    if account is None:
        return []
    page = (
        BookingPage.objects.filter(account_id=account.pk, external_id=booking_page_id)
        .select_related("owner")
        .first()
    )
    if page is None or page.owner is None:
        return []
    urls = []
    for connector in Connector.objects.filter(
        account_id=page.account_id, kind="keap", is_active=True, status=ConnectorStatus.CONNECTED
    ):
        tracking_settings = (
            TrackingSettings.objects.filter(connector=connector, enabled=True).exclude(script_url="").first()
        )
        if tracking_settings is None or page.owner.external_id not in mapping_dict(connector):
            continue
        try:  # checked again: a row written by other means than the wizard is not trusted
            urls.append(tracking.check_script_url(tracking_settings.script_url))
        except tracking.SnippetRefused:
            continue
    return urls


@require_GET
def tracking_code(request, account_slug: str, booking_page_id: str):
    """JavaScript that loads the Keap tracking script on a booking page's form (SPEC §5 Step 5),
    or an empty script. An unknown account or page answers exactly like one with nothing to
    serve, so the endpoint tells nobody which accounts exist. It never reads the session."""
    body = tracking.loader_script(_tracking_script_urls(account_slug, booking_page_id))
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    for name, value in TRACKING_HEADERS.items():
        response[name] = value
    return response
