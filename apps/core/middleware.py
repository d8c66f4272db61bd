"""Query strings no view can use, refused before they reach one.

* **Control characters** (NUL above all) in a query-string name or value: PostgreSQL refuses NUL
  in text, so ``?status__exact=%00`` on any admin changelist (Django's own filters included)
  failed when the query ran — a 500. No filter, search or id of this product has a use for
  control characters.
* **Dates that cannot exist** in an admin date hierarchy (``?attempt_time__year=99999999999``):
  Django turns them into a ``datetime`` and fails with an ``OverflowError`` (a 500).

In Django admin the answer is Django's own for an invalid lookup: the plain changelist
(``?e=1``) with a message; anywhere else a 400 with a JSON body (``{"error", "detail"}``, as
the public endpoints answer, SPEC §3).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse

from .text import has_control_characters

#: A date hierarchy's part: ``<field>__year`` (up to 4 digits), ``__month``, ``__day`` (2).
_DATE_PART = re.compile(r"__(year|month|day)$")
_DATE_DIGITS = {"year": 4, "month": 2, "day": 2}


def _admin_prefix() -> str | None:
    try:
        return reverse("admin:index")
    except NoReverseMatch:  # pragma: no cover - admin is always installed here
        return None


def unusable_query(request: HttpRequest, *, in_admin: bool) -> bool:
    for name, values in request.GET.lists():
        if has_control_characters(name, multiline=True):
            return True
        part = _DATE_PART.search(name) if in_admin else None
        for value in values:
            if has_control_characters(value, multiline=True):
                return True
            if part and value and not (value.isascii() and value.isdigit()
                                       and len(value) <= _DATE_DIGITS[part.group(1)]):
                return True
    return False


class QueryStringGuard:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.GET:
            return self.get_response(request)
        prefix = _admin_prefix()
        in_admin = bool(prefix) and request.path.startswith(prefix)
        if unusable_query(request, in_admin=in_admin):
            if in_admin:
                messages.error(request, "The address held characters or dates no filter can use, so "
                                        "they were removed.")
                return HttpResponseRedirect(f"{request.path}?e=1")
            return JsonResponse({"error": "The address holds characters that are not allowed.",
                                 "detail": "Remove control characters (such as NUL) from the query string."},
                                status=400)
        return self.get_response(request)
