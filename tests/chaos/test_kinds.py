"""The harness kinds classify CRM answers the way the real connectors do."""

import pytest
import requests

from apps.connectors.errors import PermanentCrmError, TransientCrmError
from chaos.kinds import _check


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


def test_salesforce_request_limit_is_transient_other_403s_are_not():
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    with pytest.raises(TransientCrmError) as throttled:
        _check(_response(403), limit)
    assert throttled.value.code == "REQUEST_LIMIT_EXCEEDED" and throttled.value.retry_after == 1.0
    with pytest.raises(PermanentCrmError):
        _check(_response(403), [{"message": "no access", "errorCode": "INSUFFICIENT_ACCESS"}])
