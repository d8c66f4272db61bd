"""Salesforce's answers → the typed CRM errors the sync engine acts on (``apps.connectors.errors``).

``REQUEST_LIMIT_EXCEEDED``, ``UNABLE_TO_LOCK_ROW``, 5xx, 429 and no answer at all are transient;
401 / ``INVALID_SESSION_ID`` is an auth error (the client refreshes the session once first);
a duplicate rule's refusal is ``DuplicatesDetected`` with the matched record ids; any other
error is permanent and carries Salesforce's ``errorCode``, message and field names.

``CATALOGUE`` gives every code a sentence for people (``apps.connectors.errors.Catalogue``):
what happened, what to do next, and Salesforce's own message and code on the details line.
simple-salesforce's exceptions never reach a page: their ``str()`` is the library's template
("… Response content: …"); only their status and content are read.
"""

from __future__ import annotations

from typing import Any

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

#: Wait this long before retrying after the org's API allocation ran out (Salesforce sends no
#: Retry-After); the engine's backoff grows from here.
LIMIT_RETRY_AFTER = 60.0
TRANSIENT_CODES = {"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE",
                   "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT", "TXN_SECURITY_METERING_ERROR"}

RETRY = "Nothing to do: the sync tries again in a moment (open the job to retry it now)."
RECONNECT = "Reconnect Salesforce on the connector's page (Connect Salesforce), then retry the job."
CHECK_FIELDS = ("Check the field mapping and the values the wizard sends (re-read the fields from "
                "Salesforce on the wizard's page), then retry the job.")
API_VERSION = ("Check the API version in the connection settings (empty it to use the newest the "
               "org offers), then retry.")

CATALOGUE = Catalogue(kind="salesforce", crm="Salesforce", entries={
    # No answer, or not Salesforce's
    "timeout": Entry("Salesforce did not answer in time", RETRY, TransientCrmError),
    "connection_error": Entry("Bookbridge could not connect to Salesforce", RETRY, TransientCrmError),
    "address_refused": Entry("Bookbridge refused to send the request to this address",
                             "Check the login URL and instance URL of the connection (only "
                             "Salesforce's own hosts are allowed), then retry."),
    "login_url_refused": Entry("The login URL is not an address Bookbridge may call",
                               "Enter the login URL of your org (My Domain, https://…my.salesforce.com), "
                               "then reconnect."),
    "bad_login_answer": Entry("The login URL did not answer like Salesforce's login service",
                              "Check the login URL of the connection, then reconnect."),
    "invalid_response": Entry("Salesforce's token endpoint answered with something that is not JSON",
                              "Check the login URL of the connection, then reconnect."),
    "no_versions": Entry("Salesforce did not list its API versions at this address",
                         "Check the login URL of the connection, then reconnect."),
    "version_not_offered": Entry("This Salesforce org does not offer the API version asked for",
                                 "Empty the API version in the connection settings to use the "
                                 "newest, or enter one the org offers."),
    "legacy_login_unavailable": Entry(
        "The username + password login is not available for this API version",
        "Use client credentials, JWT bearer or the web server flow (Salesforce retires login() in "
        "Summer '27), or enter 64.0 as the API version."),
    # Credentials and sign-in
    "INVALID_SESSION_ID": Entry("Salesforce refused the session (it expired or was revoked)", RECONNECT,
                                AuthCrmError),
    "INVALID_LOGIN": Entry("Salesforce refused the API user's login",
                           "Check the username, password and security token, then reconnect.",
                           AuthCrmError),
    "INVALID_OPERATION": Entry("Salesforce refused the API user's login",
                               "Sign in with client credentials, JWT bearer or the web server flow "
                               "instead (Salesforce retires login() in Summer '27).", AuthCrmError),
    "invalid_grant": Entry("Salesforce refused the sign-in", RECONNECT, AuthCrmError),
    "invalid_client": Entry("Salesforce refused the connected app's consumer key or secret",
                            "Check the consumer key and secret in the connection settings, then "
                            "reconnect.", AuthCrmError),
    "invalid_client_id": Entry("Salesforce does not know the connected app's consumer key",
                               "Check the consumer key in the connection settings, then reconnect.",
                               AuthCrmError),
    "unsupported_grant_type": Entry("Salesforce does not allow this sign-in method for the connected app",
                                    "Enable the flow in the connected app's OAuth settings, or "
                                    "choose another sign-in method, then reconnect.", AuthCrmError),
    "invalid_request": Entry("Salesforce refused the sign-in request", RECONNECT, AuthCrmError),
    "inactive_user": Entry("The Salesforce API user is inactive",
                           "Activate the user in Salesforce (or connect another one), then reconnect.",
                           AuthCrmError),
    "no_client_secret": Entry("No consumer secret is stored for the client credentials flow", RECONNECT,
                              AuthCrmError),
    "no_private_key": Entry("No private key is stored for the JWT bearer flow", RECONNECT, AuthCrmError),
    "bad_private_key": Entry("The stored private key for the JWT bearer flow cannot be used",
                             "Upload the connected app's private key again, then reconnect.", AuthCrmError),
    "no_refresh_token": Entry("No Salesforce refresh token is stored", RECONNECT, AuthCrmError),
    "no_password": Entry("No Salesforce password is stored", RECONNECT, AuthCrmError),
    "API_DISABLED_FOR_ORG": Entry("The API is not enabled for this Salesforce org or user",
                                  "Give the API user the “API Enabled” permission, then retry.",
                                  PermanentCrmError),
    # Limits and Salesforce's own trouble
    "REQUEST_LIMIT_EXCEEDED": Entry("The org's Salesforce API limit is used up for now", RETRY,
                                    TransientCrmError),
    "UNABLE_TO_LOCK_ROW": Entry("Salesforce was busy with the same record", RETRY, TransientCrmError),
    "SERVER_UNAVAILABLE": Entry("Salesforce is unavailable for now", RETRY, TransientCrmError),
    "UNKNOWN_EXCEPTION": Entry("Salesforce had an internal error", RETRY, TransientCrmError),
    "QUERY_TIMEOUT": Entry("A Salesforce search took too long", RETRY, TransientCrmError),
    "TXN_SECURITY_METERING_ERROR": Entry("Salesforce's transaction security held the request", RETRY,
                                         TransientCrmError),
    # Refused data
    "REQUIRED_FIELD_MISSING": Entry("Salesforce needs a value for a required field", CHECK_FIELDS),
    "DUPLICATES_DETECTED": Entry("A Salesforce duplicate rule blocked the record",
                                 "Let the wizard link to the existing record (matching settings) or "
                                 "relax the duplicate rule, then retry the job."),
    "NOT_FOUND": Entry("Salesforce has no such record or address", API_VERSION),
    "INVALID_FIELD": Entry("Salesforce does not know a field Bookbridge used", REFRESH_NEXT_STEP,
                           stale=True),
    "MALFORMED_QUERY": Entry("Salesforce could not read a search Bookbridge sent", API_VERSION),
    "INVALID_TYPE": Entry("Salesforce does not know an object Bookbridge used", API_VERSION),
    "INVALID_FIELD_FOR_INSERT_UPDATE": Entry("Salesforce does not let Bookbridge write a mapped field",
                                             CHECK_FIELDS),
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": Entry("A Salesforce validation rule refused the record",
                                               CHECK_FIELDS),
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": Entry("Salesforce no longer offers a picklist value "
                                                     "Bookbridge sent", REFRESH_NEXT_STEP, stale=True),
    "STRING_TOO_LONG": Entry("A value is too long for its Salesforce field", CHECK_FIELDS),
    "INVALID_EMAIL_ADDRESS": Entry("Salesforce refused the customer's email address",
                                   "Correct the customer's email address in the booking, then "
                                   "retry the job."),
    "INVALID_CROSS_REFERENCE_KEY": Entry("Salesforce refused a record id Bookbridge sent (an owner, "
                                         "a campaign or a record type)", REFRESH_NEXT_STEP,
                                         stale=True),
    "INSUFFICIENT_ACCESS_OR_READONLY": Entry("The Salesforce API user may not change this record",
                                             "Give the API user edit access to the object (or the "
                                             "record), then retry the job."),
    "ENTITY_IS_DELETED": Entry("The Salesforce record was deleted",
                               "Retry the job: Bookbridge looks the record up again."),
    "PROCESSING_HALTED": Entry("Salesforce stopped the other operations of the request after one failed",
                               CHECK_FIELDS),
    "METHOD_NOT_ALLOWED": Entry("Salesforce does not allow this operation at this address", API_VERSION),
    "gave_up": Entry("Salesforce kept refusing the booking's records", CHECK_FIELDS),
    "waiting": Entry("Another sync of the same customer is under way",
                     "Nothing to do: this one follows it in a moment.", WaitCrmError),
}, by_status={
    400: Entry("Salesforce refused the request's data", CHECK_FIELDS),
    401: Entry("Salesforce refused the session", RECONNECT, AuthCrmError),
    403: Entry("Salesforce refused access (the API user lacks a permission)",
               "Give the API user the permissions the connector needs, then retry the job."),
    404: Entry("Salesforce has no such record or address", API_VERSION),
    408: Entry("Salesforce did not answer in time", RETRY, TransientCrmError),
    409: Entry("Salesforce refused a change that conflicts with another one", "Retry the job."),
    429: Entry("Salesforce asked Bookbridge to slow down", RETRY, TransientCrmError),
    "4xx": Entry("Salesforce refused the request", CHECK_FIELDS),
    "5xx": Entry("Salesforce's servers had a problem", RETRY, TransientCrmError),
}, generic=Entry("Salesforce refused the request",
                 "Open the job's CRM calls to see Salesforce's answer, fix the connector's "
                 "settings if needed, then retry the job."))


def error_entries(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, dict):
        content = [content]
    return [e for e in content if isinstance(e, dict)] if isinstance(content, list) else []


def error_code_of(content: Any) -> str:
    for entry in error_entries(content):
        code = entry.get("errorCode") or entry.get("statusCode") or entry.get("error")
        if code:
            return str(code)
    return ""


def error_fields_of(content: Any) -> tuple[str, ...]:
    """The field names the first error entry carrying any is about (Salesforce's ``fields``)."""
    for entry in error_entries(content):
        fields = entry.get("fields")
        if isinstance(fields, list) and fields:
            return tuple(str(name) for name in fields)
    return ()


def error_message_of(content: Any) -> str:
    messages = []
    for entry in error_entries(content):
        message = entry.get("message") or entry.get("error_description") or ""
        fields = entry.get("fields") or []
        if fields:
            message = f"{message} (fields: {', '.join(map(str, fields))})"
        if message:
            messages.append(message)
    # Never echo a body that is not Salesforce's error JSON (an HTML page, a proxy's answer).
    return "; ".join(messages) or "no error message"


class DuplicatesDetected(PermanentCrmError):
    """A duplicate rule blocked a write; ``matches`` are the ids of the records it matched."""

    def __init__(self, message: str, *, matches: list[str], object_name: str = "", **kwargs):
        super().__init__(message, code="DUPLICATES_DETECTED", **kwargs)
        self.matches = matches
        self.object_name = object_name


def duplicate_matches(content: Any) -> tuple[str, list[str]]:
    """(entity type, matched record ids) of a DUPLICATES_DETECTED error (either spelling)."""
    for entry in error_entries(content):
        result = entry.get("duplicateResut") or entry.get("duplicateResult") or {}
        ids: list[str] = []
        entity = result.get("duplicateRuleEntityType", "")
        for match in result.get("matchResults") or []:
            entity = entity or match.get("entityType", "")
            for record in match.get("matchRecords") or []:
                record_id = (record.get("record") or {}).get("Id")
                if record_id:
                    ids.append(record_id)
        if ids:
            return entity, ids
    return "", []


def classify(status: int | None, content: Any, *, action: str = "") -> CrmError:
    """Turn an error answer into the typed CRM error the sync engine acts on; ``action`` is what
    was being done, for the sentence ("creating the Lead")."""
    code = error_code_of(content)
    said = error_message_of(content)
    if code == "DUPLICATES_DETECTED":
        entity, matches = duplicate_matches(content)
        error = CATALOGUE.error(code, status=status, said=said, action=action)
        return DuplicatesDetected(error.sentence, matches=matches, object_name=entity, status=status,
                                  reason=error.reason, details=error.details)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return CATALOGUE.error(code, status=status, said=said, action=action, kind=TransientCrmError,
                               retry_after=LIMIT_RETRY_AFTER)
    if code in TRANSIENT_CODES or status is None or status == 429 or status >= 500:
        return CATALOGUE.error(code or f"http_{status}", status=status, said=said, action=action,
                               kind=TransientCrmError)
    if status == 401 or code == "INVALID_SESSION_ID":
        return CATALOGUE.error(code or "INVALID_SESSION_ID", status=status, said=said, action=action,
                               kind=AuthCrmError)
    return CATALOGUE.error(code or f"http_{status}", status=status, said=said, action=action,
                           kind=PermanentCrmError, fields=error_fields_of(content))
