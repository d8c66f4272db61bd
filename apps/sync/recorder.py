"""The one hook through which CRM clients report their calls (they never import this app).

In a sync job the recorder also carries the connector's rate limiter, circuit breaker and the
job's lease heartbeat (see ``JobContext``). A client that holds only the recorder may call:

* ``recorder.throttle(cost=1)`` before each request (waits for a token of the shared bucket;
  raises a ``TransientCrmError`` when the wait is long or the CRM's circuit is open);
* ``recorder(..., response_headers=response.headers)`` after it: the quota headers adjust the
  limiter, the status feeds the circuit breaker, and a call that was not throttled first is
  charged to the bucket afterwards (so clients that never call ``throttle`` are limited too).

Outside a job (wizard, previews) ``limiter``/``circuit`` are None and both are no-ops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .models import CrmCall, SyncJob
from .redaction import for_log, redact_url


@dataclass
class CallRecorder:
    connector: Any
    sync_job: SyncJob | None = None
    limiter: Any = None
    circuit: Any = None
    heartbeat: Callable[[], None] | None = None
    #: bounds the connector's in-flight requests (Salesforce's concurrent-request limit)
    concurrency: Any = None
    #: tokens taken for calls not made yet (refunded when the job ends)
    prepaid: int = field(default=0)
    calls: int = field(default=0)
    #: the ``SyncAttempt`` row of the job's current attempt: each call belongs to one
    attempt_id: int | None = None

    def throttle(self, cost: int = 1) -> None:
        """Wait for the connector's rate limit before a CRM call (see module docstring)."""
        if self.circuit is not None:
            self.circuit.before_call()
        if self.heartbeat is not None:
            self.heartbeat()  # a long wait for a token must not look like a dead worker
        if self.concurrency is not None:
            self.concurrency.acquire()  # given back when the call is recorded
        if self.limiter is None or self.prepaid >= cost:
            return
        self.limiter.acquire(cost - self.prepaid)
        self.prepaid = cost
        if self.heartbeat is not None and self.limiter.waited:
            self.heartbeat()

    def observe_quota(self, headers: Any) -> None:
        if self.limiter is not None and headers is not None:
            self.limiter.observe_quota(headers)

    def release(self) -> None:
        """The job is over: give back tokens taken for calls that were never made."""
        if self.concurrency is not None:
            self.concurrency.release()
        if self.limiter is not None and self.prepaid:
            self.limiter.refund(self.prepaid)
        self.prepaid = 0

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
        response_headers: Any = None,
    ) -> CrmCall:
        self.calls += 1
        if self.concurrency is not None:
            self.concurrency.release()  # the answer is in: the request no longer runs
        if self.limiter is not None:
            if self.prepaid > 0:
                self.prepaid -= 1
            else:
                wait = self.limiter.debit(1)
                if 0 < wait <= self.limiter.max_inline_wait:
                    time.sleep(wait)  # pay the debt before this job's next call
            self.observe_quota(response_headers)
        if self.circuit is not None:
            from .circuit import is_failure

            if is_failure(status_code):
                self.circuit.record_failure()
            elif status_code != 429:
                self.circuit.record_success()
        if self.heartbeat is not None:
            self.heartbeat()
        return CrmCall.objects.create(
            account_id=self.connector.account_id,
            connector=self.connector,
            sync_job=self.sync_job,
            attempt_id=self.attempt_id,
            method=method.upper()[:16],
            url=redact_url(url),
            status_code=status_code,
            duration_ms=max(0, round(duration_ms)),
            crm_error_code=(crm_error_code or "")[:64],
            request_body=for_log(request_body),
            response_body=for_log(response_body),
        )
