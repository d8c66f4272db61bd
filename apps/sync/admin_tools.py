"""Admin filters and search over the sync log: HTTP status and CRM error of CRM calls, and
search by OnceHub id or by CRM record id (through the record links). Building blocks in
``apps.accounts.admin_tools``."""

from __future__ import annotations

import re

from django.contrib import admin
from django.db.models import Q

from apps.accounts.admin_tools import visible_account_ids

from .models import CrmRecordLink


class HttpStatusFilter(admin.SimpleListFilter):
    title = "HTTP status"
    parameter_name = "http"

    def lookups(self, request, model_admin):
        return [("2xx", "2xx success"), ("4xx", "4xx client error"), ("429", "429 throttled"),
                ("5xx", "5xx server error"), ("none", "No response (timeout / connection)")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(status_code__isnull=True)
        if value == "429":
            return queryset.filter(status_code=429)
        if value in ("2xx", "4xx", "5xx"):
            low = int(value[0]) * 100
            return queryset.filter(status_code__gte=low, status_code__lt=low + 100)
        return queryset


class HasErrorFilter(admin.SimpleListFilter):
    title = "CRM error"
    parameter_name = "has_error"
    field_name = "crm_error_code"

    def lookups(self, request, model_admin):
        return [("yes", "With a CRM error"), ("no", "Without")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(**{self.field_name: ""})
        if self.value() == "no":
            return queryset.filter(**{self.field_name: ""})
        return queryset


# --- search helpers ------------------------------------------------------------------------------
def crm_record_search(request, term: str, booking_path: str = "booking_id") -> Q | None:
    """Rows whose booking is linked to the CRM record id ``term`` (in the user's accounts)."""
    term = term.strip()
    if not term:
        return None
    links = CrmRecordLink.objects.filter(crm_id=term)
    ids = visible_account_ids(request)
    if ids is not None:
        links = links.filter(account_id__in=ids)
    booking_ids = list(links.values_list("booking_id", flat=True)[:100])
    return Q(**{f"{booking_path}__in": booking_ids}) if booking_ids else None


_ONCEHUB_ID = re.compile(r"^(bkng|evnt|usr|bp|bkc|mp|et)-[0-9a-z]+$", re.IGNORECASE)


def looks_like_oncehub_id(term: str) -> bool:
    return bool(_ONCEHUB_ID.match(term))


class ConsoleSearchMixin:
    """Search by exact (indexed) ids: OnceHub ids typed in lower case still match, and a CRM
    record id finds the rows of the bookings linked to it (``crm_search_booking_path``)."""

    crm_search_booking_path: str | None = None

    def get_search_results(self, request, queryset, search_term):
        term = " ".join(t.upper() if _ONCEHUB_ID.match(t) else t for t in search_term.split())
        base = queryset
        queryset, distinct = super().get_search_results(request, queryset, term)
        if self.crm_search_booking_path and term:
            extra = crm_record_search(request, term, self.crm_search_booking_path)
            if extra is not None:
                queryset = queryset | base.filter(extra)
        return queryset, distinct
