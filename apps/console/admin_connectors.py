"""Connectors in admin: health columns (last success, backlog, API usage, open incidents),
pause and resume.

The model is the connectors layer's, but the page shows and acts on the state of the layers
above it (sync jobs, pausing, console incidents and the dashboard's API usage), so the console
registers it (``apps.console.admin`` imports this module): connectors may not import them.
"""

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html

from apps.accounts.admin_scope import CHANGE, VIEW, AccountScopedAdmin
from apps.accounts.admin_tools import ScopedAccountFilter
from apps.accounts.selectors import is_administrator_of
from apps.connectors import registry
from apps.connectors.admin_tools import CrmKindFilter
from apps.connectors.models import Connector
from apps.sync.admin_actions import pause_connectors, resume_connectors
from apps.sync.models import SyncJob

from .dashboard import api_usage

BACKLOG = ("pending", "running", "retrying")


class KindFilter(CrmKindFilter):
    kind_path = "kind"


@admin.register(Connector)
class ConnectorAdmin(AccountScopedAdmin):
    """Staff read status and health; administrators change settings, pause and resume.

    Credentials are never shown. Pausing and resuming are actions (not a checkbox) so that a
    resume catches up on the queued work, in order.
    """

    list_display = ["name", "crm", "status", "is_active", "is_paused", "last_success", "backlog",
                    "api_usage", "account", "updated_at"]
    list_filter = [KindFilter, "status", "is_active", "is_paused", ScopedAccountFilter]
    search_fields = ["name"]
    list_select_related = ["account"]
    actions = [pause_connectors, resume_connectors]
    fields = ["account", "crm", "name", "status", "status_detail", "reconnect", "live_since", "is_active",
              "is_paused", "credentials_note", "last_success", "backlog", "api_usage", "open_incidents",
              "created_at", "updated_at"]
    readonly_fields = ["account", "crm", "status", "status_detail", "reconnect", "live_since", "is_paused",
                       "credentials_note", "last_success", "backlog", "api_usage", "open_incidents",
                       "created_at", "updated_at"]
    administrator_permissions = frozenset({VIEW, CHANGE})

    def get_queryset(self, request):
        jobs = SyncJob.objects.filter(connector=OuterRef("pk"))
        return super().get_queryset(request).annotate(
            _last_success=Subquery(
                jobs.filter(status="succeeded").order_by("-created_at").values("finished_at")[:1]
            ),
            _backlog=Coalesce(Subquery(
                jobs.filter(status__in=BACKLOG).order_by().values("connector")
                .annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ), 0),
        )

    @admin.display(description="last success", ordering="_last_success")
    def last_success(self, obj):
        return getattr(obj, "_last_success", None) or "—"

    @admin.display(description="CRM", ordering="kind")
    def crm(self, obj):
        return obj.kind_label  # the kind's label, never its key ("keap")

    @admin.display(description="backlog", ordering="_backlog")
    def backlog(self, obj):
        count = getattr(obj, "_backlog", 0)
        if not count:
            return 0
        url = (reverse("admin:sync_syncjob_changelist")
               + f"?connector__id__exact={obj.pk}&status__in=pending,running,retrying")
        return format_html('<a href="{}">{}</a>', url, count)

    @admin.display(description="API usage")
    def api_usage(self, obj):
        return api_usage(obj)

    @admin.display(description="Credentials")
    def credentials_note(self, obj):
        return "Stored encrypted; never shown." if obj.credentials else "None stored."

    @admin.display(description="Reconnect")
    def reconnect(self, obj):
        """The connection step of the connector's wizard (the kind's connect page), for
        administrators of the connector's account only (the page itself refuses everyone else)."""
        kind = registry.get(obj.kind)
        url = kind.connect_url(obj) if kind is not None else ""
        return format_html('<a href="{}">Reconnect {}</a>', url, obj.kind_label) if url else "—"

    @admin.display(description="Open incidents")
    def open_incidents(self, obj):
        incidents = obj.incidents.filter(resolved_at__isnull=True).order_by("opened_at")
        rows = [f"{i.get_kind_display()} since {i.opened_at:%Y-%m-%d %H:%M}" for i in incidents]
        return format_html("<br>".join(["{}"] * len(rows)), *rows) if rows else "None"

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None or not is_administrator_of(request.user, obj.account_id):
            fields = [name for name in fields if name != "reconnect"]  # staff may not reconnect
        return fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # "Refresh CRM data" (a POST form in the object tools, outside the change form) for the
        # account's administrators; the portal view checks the role again.
        connector = Connector.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        refresh = connector if connector and is_administrator_of(request.user, connector.account_id) else None
        return super().change_view(request, object_id, form_url,
                                   {**(extra_context or {}), "refresh_connector": refresh})
