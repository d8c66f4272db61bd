"""The booking sources' webhook connections in admin: read-only, never the secret.

(The inbox and bookings are registered by ``apps.sync.admin_inbox``: those pages show sync state.)
"""

from __future__ import annotations

from django.contrib import admin

from apps.accounts.admin_scope import ReadOnlyScopedAdmin
from apps.accounts.admin_tools import ScopedAccountFilter

from .models import SourceConnection


@admin.register(SourceConnection)
class SourceConnectionAdmin(ReadOnlyScopedAdmin):
    list_display = ["account", "source", "enabled", "created_at", "updated_at"]
    list_filter = ["source", "enabled", ScopedAccountFilter]
    list_select_related = ["account"]
    fields = ["account", "source", "enabled", "created_at", "updated_at"]
    readonly_fields = fields
