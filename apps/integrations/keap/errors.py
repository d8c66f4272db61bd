"""Keap's failed answers as typed errors (``apps.connectors.errors``): the message and code of
any of its error bodies, and how long to wait from its ``Retry-After`` and quota headers.

Shared by the API client (``client``) and the token exchange (``oauth``), which the client
calls on a 401: kept apart so that neither imports the other's module for them.

``CATALOGUE`` gives every code the client, the token exchange and the applier raise a sentence
for people (``apps.connectors.errors.Catalogue``): what happened, what to do next, and Keap's
own message and code on the details line.
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests

from apps.connectors.errors import (
    REFRESH_NEXT_STEP,
    AuthCrmError,
    Catalogue,
    CrmError,
    Entry,
    PermanentCrmError,
    TransientCrmError,
)


def retry_after_from(headers: Any) -> float | None:
    """Seconds to wait, from ``Retry-After`` or Keap's quota/throttle headers (reference §6)."""
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    if headers.get("x-keap-product-quota-available") == "0":
        expiry = headers.get("x-keap-product-quota-expiry-time")
        if expiry and expiry.isdigit():
            return max(1.0, int(expiry) / 1000 - time.time())
    for prefix in ("x-keap-product-throttle", "x-keap-tenant-throttle"):
        if headers.get(f"{prefix}-available") == "0":
            unit = (headers.get(f"{prefix}-time-unit") or "second").lower()
            interval = headers.get(f"{prefix}-interval") or "1"
            seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}.get(unit, 1)
            return seconds * (int(interval) if interval.isdigit() else 1)
    return None


RETRY = "Nothing to do: the sync tries again in a moment (open the job to retry it now)."
RECONNECT = "Reconnect Keap on the connector's page (Connect Keap), then retry the job."
CHECK_SETTINGS = ("Check the connector's settings against Keap (re-read the values from Keap on "
                  "the wizard's page), then retry the job.")

CATALOGUE = Catalogue(kind="keap", crm="Keap", entries={
    # No answer, or not Keap's (client)
    "timeout": Entry("Keap did not answer in time", RETRY, TransientCrmError),
    "http_none": Entry("Keap did not answer", RETRY, TransientCrmError),
    "connection_error": Entry("Bookbridge could not connect to Keap", RETRY, TransientCrmError),
    "address_refused": Entry("Bookbridge refused to send the request to this address",
                             "Check the Keap address in the connection settings (only Keap's own "
                             "hosts are allowed), then retry."),
    "bad_response": Entry("Keap answered with something that is not its JSON",
                          "Retry the job; if it happens again, check the Keap address in the "
                          "connection settings."),
    "bad_xmlrpc": Entry("Keap's XML-RPC answer could not be read", RETRY, TransientCrmError),
    "xmlrpc_fault": Entry("Keap's XML-RPC service refused the request", CHECK_SETTINGS),
    # Credentials (gateway faults, XML-RPC, token endpoint)
    "oauth.v2.InvalidAccessToken": Entry("Keap refused the access token", RECONNECT, AuthCrmError),
    "keymanagement.service.access_token_expired": Entry("Keap's access token has expired", RECONNECT,
                                                        AuthCrmError),
    "keymanagement.service.invalid_access_token": Entry("Keap refused the access token", RECONNECT,
                                                        AuthCrmError),
    "oauth.v2.InvalidApiKey": Entry("Keap refused the service account key",
                                    "Create a new service account key in Keap (Settings → API), "
                                    "enter it on the connector's page, then retry the job.",
                                    AuthCrmError),
    "InvalidKey": Entry("Keap refused the credentials", RECONNECT, AuthCrmError),
    "invalid_grant": Entry("Keap refused the sign-in (the authorization or refresh token is no "
                           "longer valid)", RECONNECT, AuthCrmError),
    "invalid_client": Entry("Keap refused the app's client id or secret",
                            "Check the client id and secret of the Keap app in the connection "
                            "settings, then reconnect Keap.", AuthCrmError),
    "invalid_request": Entry("Keap refused the sign-in request", RECONNECT, AuthCrmError),
    "invalid_token_response": Entry("Keap's token answer had no access token", RECONNECT, AuthCrmError),
    "no_refresh_token": Entry("No Keap refresh token is stored", RECONNECT, AuthCrmError),
    # Refused data
    "InvalidParameter": Entry("Keap refused a value Bookbridge sent", CHECK_SETTINGS),
    "RecordNotFound": Entry("Keap has no such record (it may have been deleted)",
                            "Retry the job: Bookbridge looks the record up again."),
    "INVALID_EMAIL": Entry("Keap refused the contact's email address",
                           "Correct the customer's email address in the booking, then retry the job."),
    "lead_source_unknown": Entry("The lead source is not known to Keap yet", RETRY, TransientCrmError),
    "tag_unknown": Entry("Some tags do not exist in Keap yet", RETRY, TransientCrmError),
    "TAG_ID_NOT_FOUND": Entry("Keap no longer has some of the tags (or their category)",
                              "Retry the job: Bookbridge creates the tags again.", TransientCrmError),
    "stale_reference": Entry("Keap no longer has a tag, tag category, lead source or custom field "
                             "that Bookbridge had read from it", REFRESH_NEXT_STEP, stale=True),
    "tag_apply_failed": Entry("Keap did not apply some tags to the contact", CHECK_SETTINGS),
    "bad_plan": Entry("The planned Keap operations are incomplete (no contact step)",
                      "Retry the job: it is planned again from the booking."),
}, by_status={
    400: Entry("Keap refused the request's data", CHECK_SETTINGS),
    401: Entry("Keap refused the credentials", RECONNECT, AuthCrmError),
    403: Entry("Keap refused access (the connected user or key lacks a permission)",
               "Connect Keap with a user (or key) allowed to edit contacts and appointments, then "
               "retry the job."),
    404: Entry("Keap has no such record or address",
               "Retry the job; if it happens again, re-read the values from Keap on the wizard's page."),
    408: Entry("Keap did not answer in time", RETRY, TransientCrmError),
    409: Entry("Keap refused a change that conflicts with another one", "Retry the job."),
    422: Entry("Keap refused a value Bookbridge sent", CHECK_SETTINGS),
    429: Entry("Keap's API limit is used up for now", RETRY, TransientCrmError),
    "4xx": Entry("Keap refused the request", CHECK_SETTINGS),
    "5xx": Entry("Keap's servers had a problem", RETRY, TransientCrmError),
}, generic=Entry("Keap refused the request",
                 "Open the job's CRM calls to see Keap's answer, fix the connector's settings if "
                 "needed, then retry the job."))


#: Keap's answer when a request names a tag, category, lead source or field by an id it no
#: longer has (e.g. "Tag category with id 6 was not found" on ``POST /tags``): the id came from
#: what Bookbridge read earlier (``metadata``, ``CrmCacheEntry``), so re-reading is the fix.
STALE_REFERENCE = re.compile(
    r"\b(tag category|tag|lead source category|lead source|custom field|field)s? with ids? [\d, ]+"
    r"(was|were) not found", re.IGNORECASE)

_UNREADABLE = object()


def body_of(response: requests.Response) -> Any:
    """The answer's JSON body, or ``_UNREADABLE`` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return _UNREADABLE


def keap_message(response: requests.Response) -> tuple[str, str]:
    """(message, code) from any of Keap's error bodies."""
    return message_of(response.status_code, body_of(response))


def message_of(status: int | None, body: Any) -> tuple[str, str]:
    """(Keap's own message, code) from a parsed error body (``_UNREADABLE``: it was not JSON);
    a code Keap does not give is the status (as Keap's own bodies give it: ``"code": "429"``)."""
    fallback = str(status) if status else ""
    if body is _UNREADABLE:
        # Never echo a body that is not Keap's JSON: it may be anything (a proxy's page, an
        # internal service behind a misconfigured URL).
        return "an error page instead of its JSON", fallback
    if isinstance(body, dict):
        fault = body.get("fault")
        if isinstance(fault, dict):
            detail = fault.get("detail") or {}
            return str(fault.get("faultstring") or "gateway error"), str(detail.get("errorcode") or fallback)
        if body.get("error"):
            return str(body.get("error_description") or body["error"]), str(body["error"])
        if body.get("message"):
            return str(body["message"]), str(body.get("code") or fallback)
    return "", fallback


def classify(status: int | None, body: Any, headers: Any = None) -> CrmError:
    """The typed error for a failed REST answer: 408, 429 and 5xx are transient, the rest
    permanent (a 401 is handled before this, by the token refresh)."""
    said, code = message_of(status, body)
    if status is None or status in (408, 429) or status >= 500:
        return CATALOGUE.error(code or "http_none", status=status, said=said, kind=TransientCrmError,
                               retry_after=retry_after_from(headers or {}))
    if status in (400, 404) and STALE_REFERENCE.search(said):
        code = "stale_reference"
    return CATALOGUE.error(code, status=status, said=said, kind=PermanentCrmError)


def auth_error(response: requests.Response) -> CrmError:
    """Keap still refused the credentials (after a token refresh, if any)."""
    said, code = keap_message(response)
    return CATALOGUE.error(code or "401", status=401, said=said, kind=AuthCrmError)


def classify_response(response: requests.Response) -> CrmError:
    return classify(response.status_code, body_of(response), response.headers)
