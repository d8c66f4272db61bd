"""The dashboard lives inside Django admin: its URLs are added to the default AdminSite."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path


def install_admin_urls(site: admin.AdminSite = admin.site) -> None:
    """Prepend the console's pages to ``site.get_urls()`` (idempotent)."""
    if getattr(site, "_bookbridge_console", False):
        return
    original = site.get_urls

    def get_urls():
        from . import views

        return [
            path("dashboard/", site.admin_view(views.dashboard), name="console-dashboard"),
            path("dashboard/data.json", site.admin_view(views.dashboard_data),
                 name="console-dashboard-data"),
            *original(),
        ]

    site.get_urls = get_urls
    site._bookbridge_console = True
