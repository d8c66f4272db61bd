"""Account overview and connector settings. Settings pages are for administrators only."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from apps.accounts.models import Role
from apps.accounts.permissions import account_view
from apps.core.public_urls import public_url

from . import registry, wizard
from .forms import ConnectorForm
from .models import Connector


@account_view(role=Role.STAFF)
def account_overview(request, account):
    webhook_url = public_url(reverse("intake:oncehub-webhook", args=[account.slug]), request)
    return render(
        request,
        "connectors/account.html",
        {
            "account": account,
            "connectors": [(c, wizard.progress(c) if not c.is_live else None)
                           for c in Connector.objects.filter(account=account)],
            "webhook_url": webhook_url,
            "is_administrator": request.account_role == Role.ADMINISTRATOR,
        },
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
