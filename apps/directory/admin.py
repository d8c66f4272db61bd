from django.contrib import admin

from apps.accounts.admin_scope import CHANGE, VIEW, AccountScopedAdmin
from apps.accounts.admin_tools import ScopedAccountFilter, recent_filter

from .models import BookingPage, EventType, FormQuestion, MasterPage, SchedulingUser


class DirectoryAdmin(AccountScopedAdmin):
    """Labels are editable by administrators: lead-source names and ownership depend on them."""

    administrator_permissions = frozenset({VIEW, CHANGE})
    readonly_fields = ["account", "external_id", "first_seen_at", "updated_at"]
    list_filter = [recent_filter("first_seen_at", "first seen"), ScopedAccountFilter]
    list_select_related = ["account"]


@admin.register(SchedulingUser)
class SchedulingUserAdmin(DirectoryAdmin):
    list_display = ["external_id", "first_name", "last_name", "email", "status", "account"]
    list_filter = ["status", *DirectoryAdmin.list_filter]
    search_fields = ["external_id", "email", "first_name", "last_name"]


@admin.register(BookingPage)
class BookingPageAdmin(DirectoryAdmin):
    list_display = ["external_id", "label", "public_name", "owner", "account"]
    search_fields = ["external_id", "label", "public_name"]
    list_select_related = ["account", "owner"]


@admin.register(MasterPage)
class MasterPageAdmin(DirectoryAdmin):
    list_display = ["external_id", "label", "name", "account"]
    search_fields = ["external_id", "label", "name"]


@admin.register(EventType)
class EventTypeAdmin(DirectoryAdmin):
    list_display = ["external_id", "name", "label", "owner", "account"]
    search_fields = ["external_id", "name", "label"]
    list_select_related = ["account", "owner"]


@admin.register(FormQuestion)
class FormQuestionAdmin(AccountScopedAdmin):
    """Learned from the bookings that answer them (``apps.directory.services``): read-only."""

    administrator_permissions = frozenset({VIEW})
    list_display = ["name", "answer_type", "first_seen_at", "last_seen_at", "account"]
    list_filter = ["answer_type", recent_filter("last_seen_at", "last seen"), ScopedAccountFilter]
    list_select_related = ["account"]
    search_fields = ["name"]
    readonly_fields = ["account", "name", "answer_type", "booking_pages", "first_seen_at", "last_seen_at"]
