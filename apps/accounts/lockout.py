"""The page a locked-out sign-in gets (django-axes' ``AXES_LOCKOUT_CALLABLE``, config/settings/base.py).

One page for the portal login and the admin login: what happened, when to try again and who can
help, with HTTP 429. It never says whether the username exists.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def cooloff_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    return render(
        request,
        "registration/lockout.html",
        {"cooloff_minutes": cooloff_minutes()},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
