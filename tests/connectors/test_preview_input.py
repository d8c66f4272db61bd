"""The preview ("what would a booking do?") answers a bad pasted payload with an error on the
payload field, never a 500.

On the code before: ``"starting_time": "2024-02-30T…"`` (a ValueError from ``parse_datetime``),
dates given as numbers (a TypeError), and a few kilobytes of ``[[[[…`` (a RecursionError from
``json.loads``) were each a 500 of the wizard step.
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Role
from apps.connectors.preview import synthetic_envelope
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.fixtures.pages import assert_plain_answer
from tests.integrations.keap.helpers import make_connector
from tests.integrations.salesforce.conftest import insecure_ok  # noqa: F401 - a fixture
from tests.integrations.salesforce.conftest import make_connector as make_salesforce  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()


@pytest.fixture(params=["keap", "salesforce"])
def preview(request, client, keap):
    """POST a payload to the preview of a wizard step of a connected connector of each CRM, as
    an administrator of its account; answers the response."""
    if request.param == "keap":
        account = AccountFactory()
        connector = make_connector(account, keap.url, auth="service_key")
    else:
        connector = request.getfixturevalue("make_salesforce")()
        account = connector.account
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    url = reverse(f"{connector.kind}:wizard-step", args=[account.slug, connector.pk, "creation"])

    def post(payload: str, **extra):
        return client.post(url, {"action": "preview", "payload": payload, **extra})

    post.account = account
    return post


def envelope(account, **data) -> dict:
    base = synthetic_envelope(account)
    base["data"].update(data)
    return base


def payload_errors(response) -> list[str]:
    return list(response.context["preview_form"].errors.get("payload", []))


@pytest.mark.parametrize(("change", "words"), [
    ({"starting_time": "2024-02-30T10:00:00Z"}, "data.starting_time: not a valid date-time"),
    ({"starting_time": 1717257600}, "data.starting_time: must be an ISO 8601 date-time"),
    ({"last_updated_time": "2024-13-01T00:00:00Z"}, "data.last_updated_time: not a valid date-time"),
    ({"duration_minutes": "thirty"}, "data.duration_minutes: must be an integer"),
    ({"duration_minutes": True}, "data.duration_minutes: must be an integer"),
    ({"form_submission": ["pat@example.com"]}, "data.form_submission: must be an object"),
    ({"form_submission": {"email": ["a@b.c"]}}, "data.form_submission.email: must be a string"),
    ({"form_submission": {"custom_fields": 5}}, "data.form_submission.custom_fields: must be an array"),
    ({"owner": 42}, "data.owner: must be an id"),
    ({"owner": {"id": ["USR-1"]}}, "data.owner.id: must be a string"),
    ({"cancel_reschedule_information": {"actioned_by": 1}}, "actioned_by: must be a string"),
    ({"id": {"a": 1}}, "data.id: must be a string"),
])
def test_a_payload_the_planner_cannot_read_is_an_error_on_the_field(preview, change, words):
    answer = preview(json.dumps(envelope(preview.account, **change)))
    assert answer.status_code == 200
    assert any(words in error for error in payload_errors(answer)), payload_errors(answer)
    assert 'data-testid="preview-plan"' not in answer.content.decode()


@pytest.mark.parametrize(("text", "words"), [
    ("[" * 100_000 + "]" * 100_000, "nested more than 16 levels deep"),
    ('{"data": ' * 40 + "{}" + "}" * 40, "nested more than 16 levels deep"),
    ("[1, 2, 3]", "must be a JSON object"),
    ('"booking"', "must be a JSON object"),
    ("{not json", "not valid JSON (line 1, column 2)"),
    ('{"type": "booking.sheduled", "data": {}}', "is not a booking event"),
    ('{"type": ["booking.scheduled"], "data": {}}', "“type” must be a booking event"),
    ('{"type": "booking.scheduled", "data": [1]}', "data: must be the booking object"),
    ('{"type": "booking.scheduled", "creation_time": 1717257600, "data": {}}',
     "creation_time: must be an ISO 8601 date-time"),
    ("x" * 1_100_000, "at most 1,048,576 are accepted"),
])
def test_malformed_pasted_text_is_an_error_on_the_field(preview, text, words):
    answer = preview(text)
    assert answer.status_code == 200
    assert any(words in error for error in payload_errors(answer)), payload_errors(answer)


def test_a_good_payload_still_shows_the_plan(preview):
    page = assert_plain_answer(preview(json.dumps(envelope(preview.account))), what="preview")
    assert 'data-testid="preview-plan"' in page


# ------------------------------------------------------------------------------ generated
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "2024-02-30T10:00:00Z", "2024-05-01T15:00:00Z", "USR-1", "BP-1", "booking.scheduled",
                     "user", "\x00", "9" * 30]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["id", "name", "value", "email", "x"]),
                                               children, max_size=3)),
    max_leaves=12,
)
TEXTS = st.one_of(st.text(max_size=30), st.sampled_from(["", "Pat Preview", "pat@example.com", "US"]))
TIMES = st.sampled_from(["2024-05-01T15:00:00Z", "2024-05-01T15:00:00.000+02:00", "", "2024-02-30T10:00:00Z",
                         "tomorrow", "2024-05-01"])
REFERENCES = st.one_of(st.sampled_from(["USR-1", "BP-1", "ET-1", ""]),
                       st.fixed_dictionaries({"id": st.sampled_from(["USR-1", "BP-1"])},
                                             optional={"email": TEXTS, "name": TEXTS}))
CUSTOM_FIELDS = st.lists(st.fixed_dictionaries({"name": st.sampled_from(["state", "country", "sosfLeadId",
                                                                         "soisContactID", "Budget"])},
                                               optional={"value": st.one_of(TEXTS, st.integers())}),
                         max_size=3)
#: For each booking field, values of its type (often) or anything JSON (sometimes).
GOOD = {
    "id": st.sampled_from(["BKNG-FUZZ0001", "BKNG-FUZZ0002"]), "subject": TEXTS, "status": TEXTS,
    "starting_time": TIMES, "creation_time": TIMES, "last_updated_time": TIMES,
    "duration_minutes": st.integers(0, 600), "owner": REFERENCES, "booking_page": REFERENCES,
    "master_page": REFERENCES, "event_type": REFERENCES, "rescheduled_booking_id": TEXTS,
    "cancel_reschedule_information": st.fixed_dictionaries(
        {}, optional={"reason": TEXTS, "actioned_by": st.sampled_from(["user", "customer", ""])}),
    "form_submission": st.fixed_dictionaries(
        {"email": TEXTS}, optional={"name": TEXTS, "phone": TEXTS, "company": TEXTS, "note": TEXTS,
                                    "custom_fields": CUSTOM_FIELDS, "guests": st.lists(TEXTS, max_size=2)}),
    "custom_fields": CUSTOM_FIELDS, "location_description": TEXTS,
    "virtual_conferencing": st.fixed_dictionaries({}, optional={"join_url": TEXTS}),
}
GOOD_BOOKINGS = st.fixed_dictionaries(
    {"id": GOOD["id"], "starting_time": TIMES},
    optional={key: values for key, values in GOOD.items() if key not in ("id", "starting_time")},
)
BOOKING_TYPES = st.sampled_from(["booking.scheduled", "booking.canceled", "booking.reassigned",
                                 "booking.rescheduled", "booking.completed", "booking.no_show"])


#: Values that broke a planner before (an impossible date, a date as a number, an object where
#: text is expected), drawn often next to anything JSON.
KNOWN_BAD = st.sampled_from(["2024-02-30T10:00:00Z", "2024-01-01T25:00:00Z", 1717257600, 17.5, True,
                             {"a": 1}, ["x"], "", None])
MUTATIONS = st.one_of(KNOWN_BAD, KNOWN_BAD, JSON_VALUES)


@st.composite
def bookings(draw) -> dict:
    """A booking of the right shape with one to three fields (nested ones included) replaced."""
    booking = draw(GOOD_BOOKINGS)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(GOOD)))
        target = booking.get(key)
        if isinstance(target, dict) and target and draw(st.booleans()):
            target[draw(st.sampled_from(sorted(target)))] = draw(MUTATIONS)  # e.g. form_submission.email
        else:
            booking[key] = draw(MUTATIONS)
    return booking


def nested(depth: int) -> str:
    return '{"type": "booking.scheduled", "data": ' + "[" * depth + "]" * depth + "}"


PAYLOADS = st.one_of(
    st.fixed_dictionaries({"type": BOOKING_TYPES, "data": bookings()},
                          optional={"id": st.just("EVNT-FUZZ"),
                                    "creation_time": st.one_of(TIMES, KNOWN_BAD)}).map(json.dumps),
    st.fixed_dictionaries({"type": BOOKING_TYPES, "data": GOOD_BOOKINGS}).map(json.dumps),
    st.fixed_dictionaries({"type": st.one_of(BOOKING_TYPES, JSON_SCALARS), "data": JSON_VALUES},
                          optional={"id": JSON_SCALARS, "creation_time": JSON_SCALARS}).map(json.dumps),
    st.integers(10, 5000).map(nested),
    JSON_VALUES.map(json.dumps),
    st.text(max_size=60),
)


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=PAYLOADS)
def test_generated_payloads_never_break_the_preview(preview, payload):
    assert_plain_answer(preview(payload), what=f"preview of {payload[:200]!r}", sent=payload)
