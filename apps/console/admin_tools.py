"""Building blocks shared by the operational ModelAdmins.

- ``CappedCountPaginator``: never ``COUNT(*)`` a huge table; counts at most
  ``settings.ADMIN_COUNT_LIMIT`` rows and shows "10000+" beyond.
- Filters whose choices come from small tables (the user's accounts and connectors, the
  registered CRM kinds, fixed lists) instead of ``SELECT DISTINCT`` over millions of rows. A
  value in the address that is none of their choices (``?connector__id__exact=abc``) takes the
  user back to the plain list with a message (``refuse_filter_value``), never a 500.
- ``administrators_only``: an admin action runs only when the user administers the account of
  every selected row; otherwise staff get a clear error and nothing happens.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import NoReturn

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.paginator import Paginator
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from apps.accounts.models import Account
from apps.accounts.selectors import account_ids_for, is_administrator_of
from apps.connectors import registry
from apps.connectors.models import Connector


# --- pagination --------------------------------------------------------------------------------
class AtLeast(int):
    """A count that is a lower bound: renders as "10000+" in the changelist."""

    def __str__(self) -> str:
        return f"{int(self)}+"


class CappedCountPaginator(Paginator):
    """Counts at most ``limit`` rows (``SELECT COUNT(*) FROM (… LIMIT n)``), so a changelist
    of a table with millions of rows costs the same as one with ten thousand."""

    limit: int | None = None

    @cached_property
    def count(self) -> int:
        limit = self.limit or settings.ADMIN_COUNT_LIMIT
        try:
            counted = self.object_list.order_by().values("pk")[: limit + 1].count()
        except (AttributeError, TypeError):
            return super().count
        return AtLeast(limit) if counted > limit else counted

    def page(self, number):
        """Like Django's, but a page is never cut short at a capped (lower-bound) count."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if not isinstance(self.count, AtLeast) and top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self.object_list[bottom:top], number, self)


class FastChangeListMixin:
    """For ModelAdmins of big tables."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50


# --- filters -------------------------------------------------------------------------------------
#: The largest id a row can have (ids are 64-bit: ``DEFAULT_AUTO_FIELD`` is a BigAutoField).
MAX_ID = 2**63 - 1


def refuse_filter_value(request, title: str) -> NoReturn:
    """A filter value from the address that is none of the filter's choices (``?account=abc``,
    a number no row can have): Django's own answer to an invalid lookup — back to the plain
    list (``?e=1``) — with a message saying why, instead of a query that cannot run (a 500)."""
    messages.error(request, f"The “{title}” filter in the address is not one of its choices, so it "
                            "was removed: the list shows every row.")
    raise IncorrectLookupParameters(f"invalid {title} filter")


def id_from(request, value: str | None, title: str) -> int | None:
    """A row id from a filter value: None when absent, refused unless a positive whole number."""
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
        refuse_filter_value(request, title)
    return int(value)


def _visible_account_ids(request) -> set[int] | None:
    """None for superusers (everything)."""
    return None if request.user.is_superuser else account_ids_for(request.user)


class ScopedAccountFilter(admin.SimpleListFilter):
    title = "account"
    parameter_name = "account__id__exact"

    def lookups(self, request, model_admin):
        ids = _visible_account_ids(request)
        accounts = Account.objects.all() if ids is None else Account.objects.filter(id__in=ids)
        if ids is not None and len(ids) < 2:
            return []  # one account: nothing to choose
        return [(str(a.pk), a.name) for a in accounts.order_by("name")]

    def queryset(self, request, queryset):
        account_id = id_from(request, self.value(), self.title)
        if account_id is not None:
            return queryset.filter(account_id=account_id)
        return queryset


class ScopedConnectorFilter(admin.SimpleListFilter):
    """The connectors of the user's accounts (the Connector table is small)."""

    title = "connector"
    parameter_name = "connector__id__exact"
    connector_path = "connector"

    def lookups(self, request, model_admin):
        ids = _visible_account_ids(request)
        connectors = Connector.objects.select_related("account")
        if ids is not None:
            connectors = connectors.filter(account_id__in=ids)
        many_accounts = ids is None or len(ids) > 1
        return [
            (str(c.pk), f"{c.name} · {c.account.name}" if many_accounts else c.name)
            for c in connectors.order_by("account__name", "name")
        ]

    def queryset(self, request, queryset):
        connector_id = id_from(request, self.value(), self.title)
        if connector_id is not None:
            return queryset.filter(**{f"{self.connector_path}_id": connector_id})
        return queryset


class CrmKindFilter(admin.SimpleListFilter):
    """The CRM (connector kind), from the registry: no query."""

    title = "CRM"
    parameter_name = "crm"
    kind_path = "connector__kind"

    def lookups(self, request, model_admin):
        return sorted(registry.choices(), key=lambda c: c[1])

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if registry.get(value) is None:
            refuse_filter_value(request, self.title)
        return queryset.filter(**{self.kind_path: value})


class RecentFilter(admin.SimpleListFilter):
    """Date ranges relative to now, on an indexed timestamp."""

    title = "when"
    parameter_name = "since"
    field_name = "created_at"
    RANGES = {
        "1h": ("Last hour", timedelta(hours=1)),
        "24h": ("Last 24 hours", timedelta(hours=24)),
        "7d": ("Last 7 days", timedelta(days=7)),
        "30d": ("Last 30 days", timedelta(days=30)),
        "older30d": ("Older than 30 days", None),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.RANGES.items()]

    def queryset(self, request, queryset):
        value = self.value()
        if value not in self.RANGES:
            return queryset
        span = self.RANGES[value][1]
        now = timezone.now()
        if span is None:
            return queryset.filter(**{f"{self.field_name}__lt": now - timedelta(days=30)})
        return queryset.filter(**{f"{self.field_name}__gte": now - span})


def recent_filter(field_name: str, title: str = "when") -> type[RecentFilter]:
    return type(
        f"Recent_{field_name}", (RecentFilter,),
        {"field_name": field_name, "title": title, "parameter_name": f"{field_name}_since"},
    )


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
    from apps.sync.models import CrmRecordLink

    term = term.strip()
    if not term:
        return None
    links = CrmRecordLink.objects.filter(crm_id=term)
    ids = _visible_account_ids(request)
    if ids is not None:
        links = links.filter(account_id__in=ids)
    booking_ids = list(links.values_list("booking_id", flat=True)[:100])
    return Q(**{f"{booking_path}__in": booking_ids}) if booking_ids else None


# --- actions -------------------------------------------------------------------------------------
def administrators_only(verb: str):
    """Decorate an admin action: run it only if the user administers every selected row's account."""

    def decorator(action):
        @functools.wraps(action)
        def wrapper(modeladmin, request, queryset):
            account_ids = set(queryset.values_list("account_id", flat=True).distinct())
            refused = sorted(a for a in account_ids if not is_administrator_of(request.user, a))
            if refused:
                names = ", ".join(Account.objects.filter(id__in=refused).values_list("name", flat=True))
                modeladmin.message_user(
                    request,
                    f"Only administrators of {names} may {verb}. Nothing was done.",
                    level=messages.ERROR,
                )
                return None
            return action(modeladmin, request, queryset)

        return wrapper

    return decorator


def status_badge(status: str, label: str | None = None):
    """A coloured status label; its colours are in static/bookbridge/admin.css (the
    Content-Security-Policy refuses ``style=`` attributes)."""
    return format_html('<span class="bb-status bb-status-{}">{}</span>', status, label or status)


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
