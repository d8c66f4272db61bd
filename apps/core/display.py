"""How admin pages show moments: to the second, in the site's time zone, never microseconds.

Every display method and page that writes a timestamp itself (instead of letting Django's
admin format a model field) goes through :func:`moment`, so all of them read alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateformat import format as date_format

EMPTY = "—"


def moment(value: datetime | None) -> str:
    """"2026-12-04 12:40:19 UTC" (the site's time zone), or a dash."""
    if value is None:
        return EMPTY
    return date_format(timezone.localtime(value), "Y-m-d H:i:s T")


def duration(span: timedelta | None) -> str:
    """"850 ms", "4.2 s", "3 min 5 s"; a dash for none (an attempt still running)."""
    if span is None:
        return EMPTY
    ms = span.total_seconds() * 1000
    if ms < 1000:
        return f"{round(ms)} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"
