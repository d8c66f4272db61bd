"""The Content-Security-Policy of a page whose form ends at a CRM's OAuth page (SPEC §13).

The policy (``CONTENT_SECURITY_POLICY`` in config/settings/base.py) lets forms submit to
Bookbridge only (``form-action 'self'``). Browsers check ``form-action`` on every redirect that
follows a form submission as well, against the policy of the page the form is on (Chromium
enforces it), and a CRM connect form posts to our own view, which redirects the browser to the
CRM's authorize page (apps/integrations/keap/views.py and apps/integrations/salesforce/views.py,
``connect``). Those pages therefore also allow the CRM's origins: exactly the hosts its form
accepts for an authorize or login URL, i.e. the CRM's host family of the outbound-request
policy (``apps.core.outbound.HostFamily``, with an operator's ``OUTBOUND_EXTRA_ALLOWED_HOSTS``),
over https; and, while the development setting ``ALLOW_INSECURE_CRM_URLS`` lets a connector
point at a local sandbox, plain http on loopback (any port: the form may name a new sandbox).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponseBase

from apps.core.outbound import HostFamily, insecure_allowed

#: Where a local CRM sandbox runs (``python -m sandbox``); only with ALLOW_INSECURE_CRM_URLS.
LOOPBACK_SOURCES = ("http://127.0.0.1:*", "http://localhost:*")
#: A CSP host source Bookbridge writes: scheme, optional ``*.``, host name, optional port. Anything
#: else (a space or ``;`` in an operator's pattern) could change the policy, so it is left out.
_HOST_SOURCE = re.compile(r"^https?://(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::(?:[0-9]{1,5}|\*))?$")


def form_redirect_sources(family: HostFamily) -> list[str]:
    """The CSP sources a form may be redirected to on its way to ``family``'s CRM."""
    sources = [f"https://{pattern}" for pattern in family.all_patterns()]
    if insecure_allowed():
        sources += LOOPBACK_SOURCES
    return [source for source in dict.fromkeys(sources) if _HOST_SOURCE.match(source)]


def csp_form_redirects_to(family: HostFamily) -> Callable:
    """View decorator: the view's pages allow their forms to be redirected to ``family``'s CRM
    (``form-action`` gets :func:`form_redirect_sources`, computed per request so settings
    overridden in tests apply). django-csp's ``csp_update`` with the sources read at request
    time, for the enforced and the report-only policy alike."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            sources = form_redirect_sources(family)
            for attribute in ("_csp_update", "_csp_update_ro"):
                update = dict(getattr(response, attribute, None) or {})
                update["form-action"] = [*update.get("form-action", ()), *sources]
                setattr(response, attribute, update)
            return response

        return wrapper

    return decorator
