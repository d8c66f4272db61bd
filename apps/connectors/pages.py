"""Pages the CRM packages share: the sign-in (OAuth callback) that could not be completed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .errors import details_line


def sign_in_failed(request: HttpRequest, *, crm: str, heading: str, explanation: str,
                   back_url: str = "", said: str = "", code: str = "") -> HttpResponse:
    """The styled error page (``templates/error_page.html``) for a CRM sign-in that came back
    unusable: what happened and what to do, a way back to the connection step, status 400.
    ``said``/``code`` are the CRM's own words from the callback's query (shown escaped, braces
    neutralised like every CRM message: ``details_line``)."""
    return render(request, "connectors/sign_in_failed.html", {
        "crm": crm,
        "heading": heading,
        "explanation": explanation,
        "details": details_line(said, code, None, crm=crm) if said or code else "",
        "back_url": back_url,
    }, status=400)
