"""The dashboard page (inside admin) and the JSON it refreshes itself from."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache

from apps.accounts.selectors import account_ids_for, accounts_for

from . import charts
from . import dashboard as data
from .alerts import open_incidents_for

REFRESH_SECONDS = 15


def _scope(request) -> tuple[set[int] | None, list]:
    """The account ids to show (None: all, for superusers), narrowed by ``?account=``."""
    user = request.user
    if not user.is_superuser and not account_ids_for(user):
        raise PermissionDenied("You are not a member of any account.")
    visible = None if user.is_superuser else account_ids_for(user)
    accounts = list(accounts_for(user).order_by("name"))
    chosen = request.GET.get("account")
    if chosen and chosen.isdigit():
        chosen_id = int(chosen)
        if visible is not None and chosen_id not in visible:
            raise PermissionDenied("Not your account.")
        return {chosen_id}, accounts
    return visible, accounts


def _body_context(account_ids) -> dict:
    snapshot = data.snapshot(account_ids)
    return {
        "snapshot": snapshot,
        "chart_24h": charts.stacked_bars(snapshot["per_hour_24h"], title="Syncs per hour, last 24 hours",
                                         label_every=3),
        "legend_24h": charts.legend(snapshot["per_hour_24h"]),
        "chart_7d": charts.stacked_bars(snapshot["per_hour_7d"], title="Syncs per hour, last 7 days",
                                        label_every=24, label_format="%a %d"),
        "legend_7d": charts.legend(snapshot["per_hour_7d"]),
        "incidents": open_incidents_for(account_ids),
    }


@never_cache
def dashboard(request):
    account_ids, accounts = _scope(request)
    context = {
        **admin.site.each_context(request),
        "title": "Operations dashboard",
        "accounts": accounts,
        "chosen_account": request.GET.get("account", ""),
        "refresh_seconds": REFRESH_SECONDS,
        **_body_context(account_ids),
    }
    return TemplateResponse(request, "console/dashboard.html", context)


@never_cache
def dashboard_data(request):
    account_ids, _ = _scope(request)
    context = _body_context(account_ids)
    html = render_to_string("console/_dashboard_body.html", context, request=request)
    return JsonResponse({**context["snapshot"], "html": html})
