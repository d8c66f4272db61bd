"""Building blocks shared by the ModelAdmins of every layer (they need only accounts).

- ``CappedCountPaginator``: never ``COUNT(*)`` a huge table; counts at most
  ``settings.ADMIN_COUNT_LIMIT`` rows and shows "10000+" beyond.
- Filters whose choices come from small tables (the user's accounts, fixed lists) instead of
  ``SELECT DISTINCT`` over millions of rows. A value in the address that is none of their
  choices (``?account__id__exact=abc``) takes the user back to the plain list with a message
  (``refuse_filter_value``), never a 500.
- ``administrators_only``: an admin action runs only when the user administers the account of
  every selected row; otherwise staff get a clear error and nothing happens.

The filters and search of higher layers build on these: ``apps.connectors.admin_tools``
(connector and CRM filters), ``apps.sync.admin_tools`` (HTTP status, CRM error, search by
OnceHub or CRM record id).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import NoReturn

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.paginator import Paginator
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from .models import Account
from .selectors import account_ids_for, is_administrator_of


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


def visible_account_ids(request) -> set[int] | None:
    """The ids of the accounts the user may see; None for superusers (everything)."""
    return None if request.user.is_superuser else account_ids_for(request.user)


class ScopedAccountFilter(admin.SimpleListFilter):
    title = "account"
    parameter_name = "account__id__exact"

    def lookups(self, request, model_admin):
        ids = visible_account_ids(request)
        accounts = Account.objects.all() if ids is None else Account.objects.filter(id__in=ids)
        if ids is not None and len(ids) < 2:
            return []  # one account: nothing to choose
        return [(str(a.pk), a.name) for a in accounts.order_by("name")]

    def queryset(self, request, queryset):
        account_id = id_from(request, self.value(), self.title)
        if account_id is not None:
            return queryset.filter(account_id=account_id)
        return queryset


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


def change_link(viewname: str, pk: int | None):
    """``#pk`` linking to the admin change page ``viewname`` (e.g. ``admin:sync_syncjob_change``),
    or a dash when there is no row."""
    if not pk:
        return "—"
    return format_html('<a href="{}">#{}</a>', reverse(viewname, args=[pk]), pk)
