"""HubSpot's failed answers as typed errors (``apps.connectors.errors``): the message and code of
its error bodies, and how long to wait from the rate-limit policy a 429 names.

Shared by the API client (``client``) and the token exchange (``oauth``): kept apart so that
neither imports the other's module for them.

Bodies (../shared/reference/hubspot-api.md §9): CRM APIs answer ``{"status": "error", "message",
"category", "errors": [{"message", "code", "context"}], "correlationId"}``; the token endpoint
adds RFC 6749's ``error`` / ``error_description`` (§2.1); a 429 names its ``policyName`` (§10).
Every field is optional.

``CATALOGUE`` gives every code the client, the sign-in and the applier raise a sentence for
people: what happened, what to do next, and HubSpot's own message and code on the details line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    WaitCrmError,
)

#: Seconds to wait per rate-limit policy when HubSpot sends no ``Retry-After`` (reference §10:
#: HubSpot's own SDK waits 10 s for the rolling window and 1 s for the search limit); ``DAILY``
#: waits for the next midnight (``seconds_to_midnight``).
POLICY_WAITS = {"TEN_SECONDLY_ROLLING": 10.0, "SECONDLY": 1.0}
#: 423 (record locked): "wait at least 2 seconds" (reference §9).
LOCKED_WAIT = 2.0
#: Statuses worth a retry besides 5xx (reference §9: 423 locked, 477 migration in progress).
RETRY_STATUSES = (408, 423, 477)
#: The validation codes that name something Bookbridge read from HubSpot earlier (a property, an
#: enumeration option) that is gone now (schema.py of the sandbox; reference §9).
STALE_CODES = ("PROPERTY_DOESNT_EXIST", "INVALID_OPTION")
#: The ``subCategory`` of an association to a record HubSpot no longer has (a saved company id).
GONE_RECORD = "INVALID_OBJECT_IDS"

RETRY = "Nothing to do: the sync tries again in a moment (open the job to retry it now)."
RECONNECT = "Reconnect HubSpot on the connector's page (Connect HubSpot), then retry the job."
CHECK_SETTINGS = ("Check the connector's settings against HubSpot (re-read the values from HubSpot "
                  "on the wizard's page), then retry the job.")

CATALOGUE = Catalogue(kind="hubspot", crm="HubSpot", entries={
    # No answer, or not HubSpot's
    "timeout": Entry("HubSpot did not answer in time", RETRY, TransientCrmError),
    "http_none": Entry("HubSpot did not answer", RETRY, TransientCrmError),
    "connection_error": Entry("Bookbridge could not connect to HubSpot", RETRY, TransientCrmError),
    "address_refused": Entry("Bookbridge refused to send the request to this address",
                             "Check the HubSpot address in the connection settings (only HubSpot's "
                             "own hosts are allowed), then retry."),
    "bad_response": Entry("HubSpot answered with something that is not its JSON",
                          "Retry the job; if it happens again, check the HubSpot address in the "
                          "connection settings."),
    # Rate limits (reference §10): deferred, never failed
    "TEN_SECONDLY_ROLLING": Entry("HubSpot's limit of calls per ten seconds is used up for now",
                                  RETRY, WaitCrmError),
    "SECONDLY": Entry("HubSpot's limit of searches per second is used up for now", RETRY, WaitCrmError),
    "DAILY": Entry("HubSpot's daily limit of calls for this account is used up",
                   "Nothing to do: the sync goes on after midnight, once HubSpot resets the limit.",
                   WaitCrmError),
    "RATE_LIMITS": Entry("HubSpot's API limit is used up for now", RETRY, WaitCrmError),
    # Transient (reference §9)
    "LOCKED": Entry("HubSpot had the record locked for another change", RETRY, TransientCrmError),
    "MIGRATION_IN_PROGRESS": Entry("HubSpot is moving this account's data (a migration)", RETRY,
                                   TransientCrmError),
    # Credentials (CRM answers and the token endpoint)
    "INVALID_AUTHENTICATION": Entry("HubSpot refused the access token", RECONNECT, AuthCrmError),
    "EXPIRED_AUTHENTICATION": Entry("HubSpot's access token has expired", RECONNECT, AuthCrmError),
    "invalid_grant": Entry("HubSpot refused the sign-in (the app was uninstalled, or the "
                           "authorization or refresh token is no longer valid)", RECONNECT, AuthCrmError),
    "invalid_client": Entry("HubSpot refused the app's client ID or secret",
                            "Check the client ID and secret of the HubSpot app in the connection "
                            "settings, then reconnect HubSpot.", AuthCrmError),
    "unsupported_grant_type": Entry("HubSpot refused the sign-in request", RECONNECT, AuthCrmError),
    "invalid_token_response": Entry("HubSpot's token answer had no access token", RECONNECT, AuthCrmError),
    "no_refresh_token": Entry("No HubSpot refresh token is stored", RECONNECT, AuthCrmError),
    "no_static_token": Entry("No HubSpot access token is stored",
                             "Enter the access token (a Service Key or a private app's token) on "
                             "the connector's page, then retry the job.", AuthCrmError),
    "MISSING_SCOPES": Entry("HubSpot refused access (the app was not granted a permission it needs)",
                            "Reconnect HubSpot and approve every permission the app asks for (or "
                            "give the access token the scopes listed on the connect page), then "
                            "retry the job."),
    # Refused data
    "VALIDATION_ERROR": Entry("HubSpot refused a value Bookbridge sent", CHECK_SETTINGS),
    "PROPERTY_DOESNT_EXIST": Entry("HubSpot no longer has a property that Bookbridge had read from it",
                                   REFRESH_NEXT_STEP, stale=True),
    "INVALID_OPTION": Entry("HubSpot no longer offers a choice (a property option) that Bookbridge "
                            "had read from it", REFRESH_NEXT_STEP, stale=True),
    GONE_RECORD: Entry("HubSpot no longer has a record Bookbridge had saved the ID of (a company "
                       "deleted or merged in HubSpot)", REFRESH_NEXT_STEP, stale=True),
    "READ_ONLY_VALUE": Entry("HubSpot refused to change a read-only property",
                             "Map the booking field to another property on the wizard's Mapping "
                             "step, then retry the job."),
    "INVALID_EMAIL": Entry("HubSpot refused the contact's email address",
                           "Correct the customer's email address in the booking, then retry the job."),
    "OBJECT_NOT_FOUND": Entry("HubSpot has no such record (it may have been deleted)",
                              "Retry the job: Bookbridge looks the record up again."),
    "CONFLICT": Entry("HubSpot refused a change that conflicts with an existing record", "Retry the job."),
    "OBJECT_ALREADY_EXISTS": Entry("HubSpot already has this property or property group",
                                   "Re-check the meeting properties on the wizard's Meeting step."),
    "no_contact_email": Entry("The booking has no customer email address, which HubSpot needs to "
                              "find or create the contact",
                              "Check that the booking form asks for the email address, then retry "
                              "the job."),
    "bad_plan": Entry("The planned HubSpot operations are incomplete (no contact step)",
                      "Retry the job: it is planned again from the booking."),
}, by_status={
    400: Entry("HubSpot refused the request's data", CHECK_SETTINGS),
    401: Entry("HubSpot refused the credentials", RECONNECT, AuthCrmError),
    403: Entry("HubSpot refused access (the connected app or token lacks a permission)",
               "Reconnect HubSpot with an app or token allowed to edit contacts, companies and "
               "meetings, then retry the job."),
    404: Entry("HubSpot has no such record or address",
               "Retry the job; if it happens again, re-read the values from HubSpot on the wizard's page."),
    408: Entry("HubSpot did not answer in time", RETRY, TransientCrmError),
    409: Entry("HubSpot refused a change that conflicts with an existing record", "Retry the job."),
    423: Entry("HubSpot had the record locked for another change", RETRY, TransientCrmError),
    429: Entry("HubSpot's API limit is used up for now", RETRY, WaitCrmError),
    477: Entry("HubSpot is moving this account's data (a migration)", RETRY, TransientCrmError),
    "4xx": Entry("HubSpot refused the request", CHECK_SETTINGS),
    "5xx": Entry("HubSpot's servers had a problem", RETRY, TransientCrmError),
}, generic=Entry("HubSpot refused the request",
                 "Open the job's CRM calls to see HubSpot's answer, fix the connector's settings if "
                 "needed, then retry the job."))

#: ``body_of`` of an answer that is not JSON.
UNREADABLE = object()


def body_of(response: requests.Response) -> Any:
    """The answer's JSON body, or ``UNREADABLE`` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return UNREADABLE


def message_of(status: int | None, body: Any) -> tuple[str, str]:
    """(HubSpot's own message, code) from a parsed error body. The code is, in order: the
    token endpoint's ``error``, a 429's ``policyName``, the first detail's ``code`` when it is a
    stale-metadata one, the ``category``; else the status."""
    fallback = str(status) if status else ""
    if body is UNREADABLE:
        # Never echo a body that is not HubSpot's JSON: it may be anything (a proxy's page).
        return "an error page instead of its JSON", fallback
    if not isinstance(body, dict):
        return "", fallback
    said = str(body.get("message") or body.get("error_description") or "")
    if body.get("error") and isinstance(body["error"], str):
        return said or body["error"], body["error"]
    if status == 429 and body.get("policyName"):
        return said, str(body["policyName"])
    details = [d for d in body.get("errors") or [] if isinstance(d, dict)]
    stale = next((str(d["code"]) for d in details if d.get("code") in STALE_CODES), "")
    if str(body.get("subCategory") or "").endswith(GONE_RECORD):
        stale = GONE_RECORD
    code = stale or str(body.get("category") or "") or fallback
    return said, code


def hubspot_message(response: requests.Response) -> tuple[str, str]:
    """(message, code) of a failed answer."""
    return message_of(response.status_code, body_of(response))


def seconds_to_midnight(now: datetime | None = None) -> float:
    """Until HubSpot's daily limit resets: midnight in the account's time zone (reference §10);
    the account's zone is not known here, so midnight UTC (the sandbox's too)."""
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - now).total_seconds())


def wait_for(status: int | None, code: str, headers: Any) -> float | None:
    """Seconds to wait before the next call: ``Retry-After`` when HubSpot sends one (not
    documented for the CRM APIs, sent on 477), else by the 429's policy, else None."""
    value = (headers or {}).get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    if status == 429:
        if code == "DAILY":
            return seconds_to_midnight()
        return POLICY_WAITS.get(code, POLICY_WAITS["TEN_SECONDLY_ROLLING"])
    if status == 423:
        return LOCKED_WAIT
    return None


def classify(status: int | None, body: Any, headers: Any = None) -> CrmError:
    """The typed error for a failed answer: 429 → ``WaitCrmError`` (deferred without counting an
    attempt, for as long as the policy says); 401 → ``AuthCrmError``; no answer, 408, 423, 477,
    5xx → transient; the rest permanent."""
    said, code = message_of(status, body)
    if status == 429:
        return CATALOGUE.error(code or "RATE_LIMITS", status=status, said=said, kind=WaitCrmError,
                               retry_after=wait_for(status, code, headers))
    if status == 401:
        return CATALOGUE.error(code or "401", status=status, said=said, kind=AuthCrmError)
    if status is None or status in RETRY_STATUSES or status >= 500:
        return CATALOGUE.error(code or "http_none", status=status, said=said, kind=TransientCrmError,
                               retry_after=wait_for(status, code, headers))
    kind = AuthCrmError if code in ("invalid_grant", "invalid_client") else PermanentCrmError
    return CATALOGUE.error(code, status=status, said=said, kind=kind)


def classify_response(response: requests.Response) -> CrmError:
    return classify(response.status_code, body_of(response), response.headers)
