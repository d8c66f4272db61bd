"""Typed CRM errors: every integration's client raises one of these, the engine decides by type.

What people read (SPEC §5, §8) is built from a CRM's *catalogue* (``Catalogue``, one per CRM in
``apps/integrations/<crm>/errors.py``): every error code the CRM or its client can raise has a
short ``reason`` ("Keap refused the contact's email address") and a next step; the error's
``message`` (and ``str()``) is the sentence "<reason> [when <action>]. <next step>" followed by a
``Details:`` line with the CRM's own words and code. Nothing else (exception class names, a
library's message templates, a bare HTTP status) ever reaches a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class CrmError(Exception):
    """``message`` (and ``str()``): the sentence, then ``"\\nDetails: " + details`` when there
    are details; ``reason``: what happened, short; ``details``: the CRM's message and code."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None,
                 fields: tuple[str, ...] = (), reason: str = "", details: str = ""):
        self.sentence = message
        self.code = code
        self.status = status
        self.reason = reason or message.split(". ")[0].rstrip(".")
        self.details = details or details_line("", code, status)
        self.message = f"{message}\nDetails: {self.details}" if self.details else message
        super().__init__(self.message)
        #: The CRM fields the error is about, as the CRM named them (e.g. Salesforce's
        #: ``fields`` of a REQUIRED_FIELD_MISSING answer).
        self.fields = tuple(fields)
        #: Which operation of a batch the CRM refused (e.g. a composite request's
        #: ``referenceId``), set by the code that sent the batch; "" for a single request.
        self.reference = ""

    def __str__(self) -> str:
        return self.message


class TransientCrmError(CrmError):
    """Worth retrying later: timeouts, connection errors, 5xx, 429, quota limits."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AuthCrmError(CrmError):
    """The credentials no longer work (after one refresh): the connector is disconnected."""


class PermanentCrmError(CrmError):
    """The CRM refused the data (validation); retrying without changing settings won't help."""


class WaitCrmError(TransientCrmError):
    """Not a failed attempt: something else is under way (e.g. another worker renewing the
    token); the engine defers the job for ``retry_after`` without counting an attempt."""


def details_line(said: str, code: str, status: int | None, *, crm: str = "") -> str:
    """"<CRM> said: <its words> (code X, HTTP n)": braces in the CRM's words become
    parentheses, so that nothing on a page looks like an unfilled template."""
    said = " ".join(str(said or "").split()).replace("{", "(").replace("}", ")").rstrip(".")
    tags = ", ".join(part for part in (f"code {code}" if code else "",
                                       f"HTTP {status}" if status else "") if part)
    if said:
        return f"{crm + ' said: ' if crm else ''}{said}" + (f" ({tags})" if tags else "")
    return tags


def crm_error_text(error: CrmError, *, doing: str = "") -> str:
    """What a page shows for a CRM error: the catalogue's sentence, naming what was being done
    (``doing``: "checking the Service Account Key") when the raise site did not, then the
    ``Details:`` line. Every page, form error and settings report shows a CRM error through this
    and adds no prefix of its own: the sentence already says who failed ("Keap did not answer"),
    so "Could not connect to Keap: Keap did not answer" would say it twice."""
    sentence = error.sentence
    lead = f"{error.reason}."
    if doing and error.reason and sentence.startswith(lead):
        sentence = f"{error.reason} when {doing}.{sentence[len(lead):]}"
    return f"{sentence}\nDetails: {error.details}" if error.details else sentence


@dataclass(frozen=True)
class Entry:
    """One error code of a catalogue: what happened (short) and what to do next."""

    reason: str
    next_step: str
    #: The error's type when the raise site does not choose it (``Catalogue.error``).
    kind: type[CrmError] = PermanentCrmError
    #: Stale CRM data: something Bookbridge read from the CRM earlier (a tag, a category, a
    #: field, a record type, a picklist value) no longer exists there. The job's page then
    #: offers "Refresh CRM data" (``suggests_refresh``).
    stale: bool = False


#: The next step of every stale-metadata entry (the button is on the connector's pages).
REFRESH_NEXT_STEP = ("Use “Refresh CRM data” on the connector's page so that Bookbridge reads it "
                     "again, fix the setting if it names something that is gone, then retry the job.")


def kind_for_status(status: int | None) -> type[CrmError]:
    """No answer, 408, 429 and 5xx are worth a retry; 401 is the credentials; the rest is
    refused data."""
    if status is None or status in (408, 429) or status >= 500:
        return TransientCrmError
    if status == 401:
        return AuthCrmError
    return PermanentCrmError


class Catalogue:
    """One CRM's error codes → sentences. ``by_status`` answers for codes the catalogue does
    not know (keyed by the HTTP status, or by its class: ``"4xx"``, ``"5xx"``); ``generic``
    for the rest."""

    def __init__(self, *, kind: str, crm: str, entries: dict[str, Entry],
                 by_status: dict[int | str, Entry], generic: Entry) -> None:
        self.kind = kind
        self.crm = crm
        self.entries = entries
        self.by_status = by_status
        self.generic = generic
        CATALOGUES[kind] = self

    def entry(self, code: str, status: int | None = None) -> Entry:
        if code in self.entries:
            return self.entries[code]
        number = code.removeprefix("http_")
        if status is None and number.isdigit():  # a code that is only the status (Keap's "429")
            status = int(number)
        if status in self.by_status:
            return self.by_status[status]
        if status is not None and f"{status // 100}xx" in self.by_status:
            return self.by_status[f"{status // 100}xx"]
        return self.generic

    def knows(self, code: str) -> bool:
        """A code of the catalogue, or a bare HTTP status (``"429"``, ``"http_502"``)."""
        return code in self.entries or code.removeprefix("http_").isdigit()

    def reason_of(self, code: str) -> str:
        return self.entry(code).reason

    def error(self, code: str, *, status: int | None = None, said: str = "", action: str = "",
              next_step: str = "", reason: str = "", kind: type[CrmError] | None = None,
              **kwargs: Any) -> CrmError:
        """The typed error for ``code``: ``said`` is the CRM's own message (for the details
        line), ``action`` what was being done ("creating the Lead"), ``next_step`` replaces the
        catalogue's (and ``reason`` the reason) when the raise site knows better; ``kind``
        defaults to the entry's."""
        entry = self.entry(code, status)
        if reason:
            entry = Entry(reason, entry.next_step, entry.kind, entry.stale)
        known = code in self.entries
        cls = kind or (entry.kind if known or status is None else kind_for_status(status))
        sentence = f"{entry.reason} when {action}." if action else f"{entry.reason}."
        sentence = f"{sentence} {next_step or entry.next_step}".strip()
        details = details_line(said, code, status, crm=self.crm)
        return cls(sentence, code=code, status=status, reason=entry.reason, details=details, **kwargs)


#: Every CRM's catalogue, by connector kind (filled when the integrations' ``errors`` modules
#: are imported, from their ``AppConfig.ready``).
CATALOGUES: dict[str, Catalogue] = {}


def suggests_refresh(kind: str, code: str) -> bool:
    """Whether a job that failed with ``code`` failed on stale CRM data (``Entry.stale``): a
    "Refresh CRM data" then lets its retry work."""
    catalogue = CATALOGUES.get(kind)
    entry = catalogue.entries.get(code) if catalogue is not None else None
    return entry is not None and entry.stale


def reason_for(kind: str, code: str) -> str:
    """The short reason of an error code of a connector kind, for lists and filters; "" when
    neither the kind's catalogue nor Bookbridge's own codes know it (the caller shows the
    stored sentence instead)."""
    if code in COMMON.entries:
        return COMMON.reason_of(code)
    catalogue = CATALOGUES.get(kind)
    if catalogue is None or not catalogue.knows(code):
        return ""
    return catalogue.reason_of(code)


#: The codes Bookbridge itself gives a job (the sync engine, the token renewal, the preview),
#: whatever the CRM.
COMMON = Catalogue(kind="", crm="", entries={
    "token_renewal": Entry("Another worker is renewing the CRM's access token",
                           "Nothing to do: the sync tries again in a moment.", WaitCrmError),
    "circuit_open": Entry("The CRM failed several times in a row (calls paused)",
                          "Nothing to do: the sync tries again in a moment.", TransientCrmError),
    "throttled": Entry("Waiting for the CRM's rate limit", "Nothing to do: the sync goes on shortly.",
                       TransientCrmError),
    "infrastructure": Entry("Bookbridge could not reach its own database, cache or message broker",
                            "Nothing to do: the sync is retried shortly.", TransientCrmError),
    "internal_error": Entry("Bookbridge failed on this booking (an internal error)",
                            "The operators have it in the log; retry the job once it is fixed."),
    "preview_write": Entry("A preview may not write to the CRM",
                           "Nothing to do: the real sync writes the records."),
    "auth": Entry("The CRM refused the credentials", "Reconnect the CRM on the connector's page, "
                  "then retry the job.", AuthCrmError),
}, by_status={}, generic=Entry("The CRM refused the request",
                               "Open the job's CRM calls to see what the CRM answered, fix the "
                               "connector's settings if needed, then retry the job."))
del CATALOGUES[""]
