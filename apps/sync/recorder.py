"""The one hook through which CRM clients report their calls (they never import this app)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import CrmCall, SyncJob
from .redaction import for_log, redact_url


@dataclass
class CallRecorder:
    connector: Any
    sync_job: SyncJob | None = None

    def __call__(
        self,
        *,
        method: str,
        url: str,
        status_code: int | None,
        duration_ms: float,
        request_body: Any = None,
        response_body: Any = None,
        crm_error_code: str = "",
    ) -> CrmCall:
        return CrmCall.objects.create(
            account_id=self.connector.account_id,
            connector=self.connector,
            sync_job=self.sync_job,
            method=method.upper()[:16],
            url=redact_url(url),
            status_code=status_code,
            duration_ms=max(0, round(duration_ms)),
            crm_error_code=(crm_error_code or "")[:64],
            request_body=for_log(request_body),
            response_body=for_log(response_body),
        )
