"""Admin page of the accounts' OnceHub API keys, with the backfill action (SPEC §15).

Registered here, not in ``apps.accounts``: the action runs ``apps.intake.backfill``, a higher
layer than the key's model (docs/architecture.md, "Where the admin of a lower app's models
lives"). Only administrators of an account see, add or change its key; the key itself is
write-only (a blank field keeps the stored one) and never rendered.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from apps.accounts.admin_scope import ADD, CHANGE, DELETE, VIEW, AccountScopedAdmin
from apps.accounts.admin_tools import administrators_only
from apps.accounts.models import SourceApiKey
from apps.core.outbound import OutboundRefused, check_url
from apps.intake.backfill import BackfillError, backfill
from apps.intake.oncehub_api import HOSTS, OnceHubApiError

#: What the action reads: the last day, the usual length of an outage worth repairing.
ACTION_HOURS = 24


class SourceApiKeyForm(forms.ModelForm):
    api_key = forms.CharField(
        label="API key", required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="From OnceHub's APIs & Webhooks page. Leave blank to keep the stored key.")

    class Meta:
        model = SourceApiKey
        fields = ["account", "source", "api_base", "api_key"]

    def clean_api_base(self) -> str:
        try:
            return check_url(self.cleaned_data["api_base"], HOSTS, what="The OnceHub API address")
        except OutboundRefused as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        stored = self.instance.pk is not None
        moved = stored and cleaned.get("api_base") != SourceApiKey.objects.get(pk=self.instance.pk).api_base
        if not cleaned.get("api_key") and (not stored or moved):
            # A key goes with the address it was issued for (SPEC §13): a new address needs it again.
            self.add_error("api_key", "Enter the API key." if not stored else
                           "Enter the API key again: the address changed.")
        return cleaned

    def save(self, commit: bool = True):
        if not self.cleaned_data.get("api_key"):
            self.instance.api_key = SourceApiKey.objects.get(pk=self.instance.pk).api_key
        return super().save(commit)


@admin.action(description=f"Backfill the last {ACTION_HOURS} hours from OnceHub", permissions=["administer"])
@administrators_only("backfill from OnceHub")
def backfill_last_day(modeladmin, request, queryset):
    end = timezone.now()
    for row in queryset.select_related("account"):
        try:
            report = backfill(row.account, end - timedelta(hours=ACTION_HOURS), end)
        except (BackfillError, OnceHubApiError) as exc:
            modeladmin.message_user(request, f"{row.account}: {exc}", messages.ERROR)
            continue
        level = messages.WARNING if report.refused else messages.SUCCESS
        modeladmin.message_user(request, report.summary(), level)


@admin.register(SourceApiKey)
class SourceApiKeyAdmin(AccountScopedAdmin):
    form = SourceApiKeyForm
    staff_permissions = frozenset()  # a credential: administrators only
    administrator_permissions = frozenset({VIEW, ADD, CHANGE, DELETE})
    list_display = ["account", "source", "api_base", "updated_at"]
    list_select_related = ["account"]
    actions = [backfill_last_day]
    readonly_fields = ["updated_at"]
