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


def state_not_ours(request: HttpRequest, *, crm: str, back_url: str) -> HttpResponse:
    """The callback's ``state`` names no sign-in this browser session started (or one used)."""
    return sign_in_failed(
        request, crm=crm, heading=f"This {crm} sign-in was not started here",
        explanation=f"{crm} came back with a sign-in that this browser session did not start, or "
                    "one that was already used (for example after signing in twice or going back "
                    "in the browser). Nothing was changed. Start again from the connector's "
                    "connection step.",
        back_url=back_url)


def refused_callback(request: HttpRequest, *, crm: str, back_url: str,
                     what_to_allow: str) -> HttpResponse | None:
    """The page for a callback that carries the CRM's refusal or no code; None when it has a
    code to exchange. ``what_to_allow`` ends "sign in again and allow Bookbridge …"."""
    if request.GET.get("error"):
        return sign_in_failed(
            request, crm=crm, heading=f"{crm} did not authorize Bookbridge",
            explanation=f"The sign-in was cancelled or refused on {crm}'s page, so the connector "
                        f"was not connected. Go back to the connection step, sign in again and "
                        f"allow Bookbridge {what_to_allow}.",
            back_url=back_url, said=request.GET.get("error_description", ""), code=request.GET["error"])
    if not request.GET.get("code"):
        return sign_in_failed(
            request, crm=crm, heading=f"{crm} sent no authorization code",
            explanation=f"{crm} came back without the code that completes the sign-in, so the "
                        "connector was not connected. Go back to the connection step and sign in "
                        "again.",
            back_url=back_url)
    return None
