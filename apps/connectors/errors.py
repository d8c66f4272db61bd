"""Typed CRM errors: every integration's client raises one of these, the engine decides by type."""

from __future__ import annotations


class CrmError(Exception):
    def __init__(self, message: str, *, code: str = "", status: int | None = None,
                 fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        #: The CRM fields the error is about, as the CRM named them (e.g. Salesforce's
        #: ``fields`` of a REQUIRED_FIELD_MISSING answer).
        self.fields = tuple(fields)
        #: Which operation of a batch the CRM refused (e.g. a composite request's
        #: ``referenceId``), set by the code that sent the batch; "" for a single request.
        self.reference = ""


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
