"""Account overview and connector settings. Settings pages are for administrators only."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import account_view
from apps.accounts.selectors import source_api_key
from apps.core.public_urls import public_url
from apps.directory.selectors import learned_by_source
from apps.intake.backfill import BackfillReport
from apps.intake.source_setup import source_setups

from . import registry, wizard
from .contract import CrmIntegration
from .errors import CrmError
from .forms import ConnectorForm
from .models import Connector
from .source_forms import BackfillRangeForm, OnceHubApiKeyForm, SourceSecretForm


@account_view(role=Role.STAFF)
def account_overview(request, account):
    return account_page(request, account)


def account_page(request, account, *, backfill_form: BackfillRangeForm | None = None,
                 backfill_report: BackfillReport | None = None, status: int = 200) -> HttpResponse:
    """The account page; the booking-source views render it again with their form's errors."""
    is_administrator = request.account_role == Role.ADMINISTRATOR
    learned = learned_by_source(account.pk)
    sources = [(setup, public_url(reverse(f"intake:{setup.key}-webhook", args=[account.slug]), request),
                learned.get(setup.key)) for setup in source_setups(account)]
    return render(
        request,
        "connectors/account.html",
        {
            "account": account,
            "connectors": [(c, wizard.progress(c) if not c.is_live else None)
                           for c in Connector.objects.filter(account=account)],
            "sources": sources,
            "secret_form": SourceSecretForm(),
            "api_key_form": OnceHubApiKeyForm(),
            "has_api_key": source_api_key(account) is not None,
            "backfill_form": backfill_form or BackfillRangeForm(),
            "backfill_report": backfill_report,
            "is_administrator": is_administrator,
            # Staff see a disconnected connector's banner without its Reconnect button.
            "staff_view": not is_administrator,
        },
        status=status,
    )


@account_view(role=Role.ADMINISTRATOR)
def connector_edit(request, account, connector_id: int | None = None):
    connector = (
        get_object_or_404(Connector, account=account, pk=connector_id) if connector_id else None
    )
    form = ConnectorForm(request.POST or None, instance=connector, account=account)
    if request.method == "POST" and form.is_valid():
        form.instance.account = account
        if connector is None and registry.needs_setup(form.instance.kind):
            form.instance.live_since = None  # a draft until "Review and go live" (the wizard)
        saved = form.save()
        messages.success(request, f"Saved connector “{saved.name}”.")
        if connector is None:
            return redirect(_first_page(saved))
        return redirect("connectors:account", account.slug)
    return render(
        request, "connectors/connector_form.html",
        {"account": account, "form": form, "connector": connector},
    )


def _first_page(connector: Connector) -> str:
    """Where a new connector's set-up starts: its kind's connect page (a CRM), else the
    account page (a kind without a CRM, e.g. log only, needs no set-up)."""
    kind = registry.get(connector.kind)
    connect_url = kind.connect_url(connector) if kind is not None else ""
    return connect_url or reverse("connectors:account", args=[connector.account.slug])


@require_POST
@account_view(role=Role.ADMINISTRATOR)
def connector_refresh(request, account, connector_id: int):
    """"Refresh CRM data": the kind drops what it cached of the CRM (schema, picklists, record
    types, users, saved ids), reads it again and says what changed. The page it was pressed on
    (``next``, this site only) shows the message."""
    connector = get_object_or_404(Connector, account=account, pk=connector_id)
    kind = registry.get(connector.kind)
    if not isinstance(kind, CrmIntegration):
        raise Http404("This connector has no CRM data to refresh.")
    try:
        report = kind.refresh_metadata(connector)
    except CrmError as exc:
        messages.error(request, f"Could not refresh the {connector.kind_label} data: {exc.message}")
    else:
        messages.success(request, report.message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = connector.setup_url or reverse("connectors:account", args=[account.slug])
    return redirect(target)
