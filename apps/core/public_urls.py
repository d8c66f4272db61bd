"""The public URL of a path of this site: one rule for every page, email and command.

* ``BOOKBRIDGE_PUBLIC_BASE_URL`` set explicitly (``settings.PUBLIC_BASE_URL_IS_SET``): that base,
  everywhere — behind a proxy that rewrites Host, or when OnceHub must reach another name.
* Otherwise a page builds it from its request (``request.build_absolute_uri``; the Host header
  is checked against ``ALLOWED_HOSTS`` first, so a forged Host is refused, not echoed).
* Without a request (emails, alerts, management commands) the configured base is used: an email
  must not carry whatever Host the request that triggered it happened to name.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def public_url(path: str, request: HttpRequest | None = None) -> str:
    """The absolute URL of ``path`` (an absolute path, e.g. from ``reverse``)."""
    if request is None or settings.PUBLIC_BASE_URL_IS_SET:
        return settings.PUBLIC_BASE_URL.rstrip("/") + path
    return request.build_absolute_uri(path)
