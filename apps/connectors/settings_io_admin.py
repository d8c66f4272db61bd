"""Settings as code in Django admin: "Connector configurations (YAML)".

An action exports the selected connectors' configurations as one YAML file (a document per
connector); the "Import YAML" button (administrators) uploads a file into one of their accounts,
with secrets typed in the form, and lists every problem with its path in the file.
Registered on import (``apps.integrations.keap.admin`` imports this module).
"""

from __future__ import annotations

import yaml
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from apps.accounts.admin_scope import ACCOUNT_FILTER, VIEW, AccountScopedAdmin
from apps.accounts.models import Account
from apps.accounts.selectors import administered_account_ids

from .admin_tools import CrmKindFilter
from .models import ConnectorConfiguration
from .settings_io import NAME_MAX_LENGTH, export_connector, import_connector
from .settings_yaml import MAX_BYTES

#: The secrets of both kinds (``ConnectorKind.secret_names``); each kind refuses the
#: ones it does not know.
SECRET_FIELDS = ("client_secret", "service_account_key", "refresh_token", "password", "security_token")


class KindFilter(CrmKindFilter):
    kind_path = "kind"


class ImportForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.none())
    file = forms.FileField(label="YAML file")
    name = forms.CharField(required=False, max_length=NAME_MAX_LENGTH,
                           help_text="Connector name (default: the one in the file)")
    client_secret = forms.CharField(required=False, widget=forms.PasswordInput)
    service_account_key = forms.CharField(required=False, widget=forms.PasswordInput,
                                          help_text="Keap")
    refresh_token = forms.CharField(required=False, widget=forms.PasswordInput)
    password = forms.CharField(required=False, widget=forms.PasswordInput,
                               help_text="Salesforce API user")
    security_token = forms.CharField(required=False, widget=forms.PasswordInput,
                                     help_text="Salesforce API user")
    dry_run = forms.BooleanField(required=False, label="Only validate")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        accounts = Account.objects.all()
        if not user.is_superuser:
            accounts = accounts.filter(id__in=administered_account_ids(user))
        self.fields["account"].queryset = accounts

    def clean_file(self) -> str:
        """The file's text: at most ``settings_yaml.MAX_BYTES``, UTF-8."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024:,.0f} kB; at most {MAX_BYTES // 1024} kB are accepted.")
        try:
            return upload.read(MAX_BYTES + 1).decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text (a YAML file written by the "
                                        "export is).") from None


@admin.register(ConnectorConfiguration)
class ConnectorConfigurationAdmin(AccountScopedAdmin):
    list_display = ["name", "crm", "status", "account", "setup_link"]
    list_filter = [KindFilter, ACCOUNT_FILTER]
    actions = ["export_yaml"]
    change_list_template = "connectors/settings_io_changelist.html"
    administrator_permissions = frozenset({VIEW})

    @admin.display(description="Set-up")
    def setup_link(self, obj: ConnectorConfiguration) -> str:
        """The way back from the settings file to the connector's wizard (``Connector.setup_url``:
        its first open step once connected, else its connect page)."""
        url = obj.setup_url
        if not url:
            return "—"
        return format_html('<a href="{}" data-testid="setup-link">Open the set-up of {}</a>', url, obj.name)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="CRM", ordering="kind")
    def crm(self, obj):
        return obj.kind_label

    def changelist_view(self, request, extra_context=None):
        # "Import YAML" (settings_io_changelist.html) only for those import_view lets in.
        context = {"can_import": self.has_administer_permission(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    @admin.action(description="Export configuration as YAML", permissions=["administer"])
    def export_yaml(self, request, queryset):
        allowed = administered_account_ids(request.user)
        docs = [export_connector(c) for c in queryset if request.user.is_superuser or c.account_id in allowed]
        if not docs:
            raise PermissionDenied("Only administrators can export configurations.")
        body = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
        name = docs[0]["connector"]["name"] if len(docs) == 1 else "connectors"
        response = HttpResponse(body, content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name.replace(" ", "-").lower()}.yaml"'
        return response

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="connectors_import_yaml"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not (request.user.is_superuser or administered_account_ids(request.user)):
            raise PermissionDenied("Only administrators can import configurations.")
        form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
        problems = []
        setup_url = ""
        if request.method == "POST" and form.is_valid():
            secrets = {k: form.cleaned_data[k] for k in SECRET_FIELDS if form.cleaned_data.get(k)}
            result = import_connector(
                form.cleaned_data["account"],
                form.cleaned_data["file"],
                secrets=secrets,
                name=form.cleaned_data["name"] or None,
                dry_run=form.cleaned_data["dry_run"],
            )
            if result.report.ok:
                verb = "is valid" if form.cleaned_data["dry_run"] else "was imported"
                messages.success(request, f"The configuration of “{result.connector.name}” {verb}.")
                if not form.cleaned_data["dry_run"]:
                    return redirect("admin:connectors_connectorconfiguration_changelist")
            problems = result.report.problems
            if result.connector is not None and result.connector.pk:  # a stored connector's file
                setup_url = result.connector.setup_url
        context = {
            "setup_url": setup_url,
            **self.admin_site.each_context(request),
            "form": form,
            "problems": problems,
            "title": "Import a connector configuration (YAML)",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "connectors/settings_io_import.html", context)
