"""Account overview and connector settings. Settings pages are for administrators only."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from apps.accounts.models import Role
from apps.accounts.permissions import account_view

from .forms import ConnectorForm
from .models import Connector


@account_view(role=Role.STAFF)
def account_overview(request, account):
    webhook_url = settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        "intake:oncehub-webhook", args=[account.slug]
    )
    return render(
        request,
        "connectors/account.html",
        {
            "account": account,
            "connectors": Connector.objects.filter(account=account),
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
        saved = form.save()
        messages.success(request, f"Saved connector “{saved.name}”.")
        return redirect("connectors:account", account.slug)
    return render(
        request, "connectors/connector_form.html",
        {"account": account, "form": form, "connector": connector},
    )
