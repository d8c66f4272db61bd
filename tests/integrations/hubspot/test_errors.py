"""HubSpot's answers → typed errors (``errors.classify``): rate-limit policies and their waits,
auth, transient and stale-metadata codes, and sentences in plain words."""

from datetime import UTC, datetime

import pytest

from apps.connectors.errors import (
    AuthCrmError,
    PermanentCrmError,
    TransientCrmError,
    WaitCrmError,
    suggests_refresh,
)
from apps.integrations.hubspot import errors


def _rate_limited(policy):
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "policyName": policy,
        "category": "RATE_LIMITS",
    }


@pytest.mark.parametrize(("policy", "wait"), [("TEN_SECONDLY_ROLLING", 10.0), ("SECONDLY", 1.0)])
def test_429_waits_by_policy(policy, wait):
    error = errors.classify(429, _rate_limited(policy), {})
    assert isinstance(error, WaitCrmError) and error.code == policy and error.retry_after == wait
    assert "HubSpot" in error.sentence and "429" not in error.sentence


def test_429_daily_waits_until_midnight_and_retry_after_wins():
    daily = errors.classify(429, _rate_limited("DAILY"), {})
    assert isinstance(daily, WaitCrmError) and 1 <= daily.retry_after <= 86400
    assert "after midnight" in daily.sentence
    assert errors.seconds_to_midnight(datetime(2030, 1, 1, 23, 59, 30, tzinfo=UTC)) == 30
    told = errors.classify(429, _rate_limited("TEN_SECONDLY_ROLLING"), {"Retry-After": "3"})
    assert told.retry_after == 3.0


def test_auth_transient_and_permanent():
    expired = {
        "status": "error",
        "message": "The OAuth token used to make this call expired 5 second(s) ago.",
        "category": "EXPIRED_AUTHENTICATION",
    }
    assert isinstance(errors.classify(401, expired), AuthCrmError)
    revoked = {"error": "invalid_grant", "error_description": "refresh token is invalid, expired or revoked"}
    assert isinstance(errors.classify(400, revoked), AuthCrmError)
    for status in (423, 477, 502, 503, None):
        assert isinstance(errors.classify(status, {"category": "X"}), TransientCrmError)
    assert errors.classify(423, {}).retry_after == errors.LOCKED_WAIT
    refused = errors.classify(400, {"message": "bad", "category": "VALIDATION_ERROR"})
    assert isinstance(refused, PermanentCrmError) and not isinstance(refused, TransientCrmError)
    assert "HubSpot said: bad (code VALIDATION_ERROR, HTTP 400)" in refused.message


def test_a_property_gone_from_hubspot_suggests_refreshing():
    body = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": 'Property values were not valid: [{"name":"shoe_size","error":"PROPERTY_DOESNT_EXIST"}]',
        "errors": [{"message": 'Property "shoe_size" does not exist', "code": "PROPERTY_DOESNT_EXIST"}],
    }
    error = errors.classify(400, body)
    assert error.code == "PROPERTY_DOESNT_EXIST" and suggests_refresh("hubspot", error.code)
    assert "Refresh CRM data" in error.sentence
    # braces of HubSpot's message never reach a page as a template would
    assert "{" not in error.message


def test_a_body_that_is_not_json_is_not_echoed():
    error = errors.classify(502, errors.UNREADABLE)
    assert "an error page instead of its JSON" in error.message
