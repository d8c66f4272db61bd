"""The account page's booking sources (SPEC §15): each source's on/off and signing secret
(revealed once, replaced by a pasted or generated one), the OnceHub API key (write-only) and a
backfill of a date range. Administrators only; every action is a POST with its CSRF token."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import account_view
from apps.accounts.services import record_change
from apps.intake.backfill import BackfillError, backfill
from apps.intake.models import BookingSourceKey
from apps.intake.oncehub_api import OnceHubApiError, store_api_key
from apps.intake.source_setup import label_of, replace_secret, reveal_secret, switch_source

from .source_forms import BackfillRangeForm, OnceHubApiKeyForm, SourceSecretForm
from .views import account_page

ACCOUNT_PAGE = "connectors:account"


def _known(source: str) -> str:
    if source not in BookingSourceKey.values:
        raise Http404("No such booking source.")
    return source


@never_cache
@require_POST
@account_view(role=Role.ADMINISTRATOR)
def source_secret_reveal(request, account, source: str) -> HttpResponse:
    """Show a source's signing secret once (this answer only, never cached), with a copy
    button; a second reveal is refused until the secret is replaced."""
    secret = reveal_secret(account=account, source=_known(source), user=request.user)
    if secret is None:
        messages.error(request, f"The {label_of(source)} signing secret was already revealed once, so it "
                                "stays hidden. Make a new one to get a secret you can reveal.")
        return redirect(ACCOUNT_PAGE, account.slug)
    return render(request, "connectors/source_secret.html",
                  {"account": account, "secret": secret, "source_label": label_of(source)})


@require_POST
@account_view(role=Role.ADMINISTRATOR)
def source_secret_replace(request, account, source: str) -> HttpResponse:
    """"Rotate secret" (OnceHub, with its grace period), or a pasted or generated signing key
    (Calendly, Cal.com)."""
    _known(source)
    form = SourceSecretForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["secret"]))
        return redirect(ACCOUNT_PAGE, account.slug)
    pasted = form.cleaned_data["secret"] if source != BookingSourceKey.ONCEHUB else ""
    replace_secret(account=account, source=source, user=request.user, pasted=pasted)
    label = label_of(source)
    if source == BookingSourceKey.ONCEHUB:
        hours = settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS
        messages.success(request, "A new signing secret was made. Reveal it once and enter it in OnceHub; "
                                  f"the previous one keeps working for {hours} hours meanwhile.")
    elif pasted:
        messages.success(request, f"Saved the {label} signing key: deliveries signed with it are "
                                  "accepted now.")
    else:
        messages.success(request, f"A new {label} signing secret was made. Reveal it once and enter it "
                                  f"in {label}'s webhook settings.")
    return redirect(ACCOUNT_PAGE, account.slug)


@require_POST
@account_view(role=Role.ADMINISTRATOR)
def source_switch(request, account, source: str) -> HttpResponse:
    if _known(source) == BookingSourceKey.ONCEHUB:
        raise Http404("OnceHub's webhook is always on.")
    enabled = request.POST.get("enabled") == "on"
    switch_source(account=account, source=source, user=request.user, enabled=enabled)
    state = "on: its deliveries are accepted" if enabled else "off: its deliveries are refused"
    messages.success(request, f"{label_of(source)} is {state}.")
    return redirect(ACCOUNT_PAGE, account.slug)


@require_POST
@account_view(role=Role.ADMINISTRATOR)
def oncehub_api_key(request, account) -> HttpResponse:
    form = OnceHubApiKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(ACCOUNT_PAGE, account.slug)
    try:
        store_api_key(account=account, api_key=form.cleaned_data["api_key"],
                      api_base=form.cleaned_data["api_base"])
    except OnceHubApiError as exc:
        messages.error(request, str(exc))
        return redirect(ACCOUNT_PAGE, account.slug)
    record_change(account=account, user=request.user, what="Stored the OnceHub API key.")
    messages.success(request, "Saved the OnceHub API key. It is not shown again.")
    return redirect(ACCOUNT_PAGE, account.slug)


@require_POST
@account_view(role=Role.ADMINISTRATOR)
def source_backfill(request, account) -> HttpResponse:
    """Backfill a date range inside the request: at most a month, a few OnceHub API pages
    (``PAGE_BACKFILL_DAYS``); longer ranges are ``manage.py backfill``'s."""
    form = BackfillRangeForm(request.POST)
    if not form.is_valid():
        return account_page(request, account, backfill_form=form, status=400)
    start, end = form.moments()
    try:
        report = backfill(account, start, end)
    except (BackfillError, OnceHubApiError) as exc:
        form.add_error(None, str(exc))
        return account_page(request, account, backfill_form=form, status=400)
    record_change(account=account, user=request.user, what=f"Backfilled from OnceHub: {report.summary()}")
    return account_page(request, account, backfill_form=form, backfill_report=report)
