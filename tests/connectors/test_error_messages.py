"""Every CRM error a person reads is a sentence — what happened, what to do next — with the
CRM's own message and code on a details line (SPEC §5, §8; ``apps.connectors.errors``).

Checked for every code of every catalogue, for answers of every status class through each
client's ``classify``, and through real sandboxes on a sync job.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
import requests
import requests.exceptions
import simple_salesforce.exceptions
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import ValidationError

import apps.connectors.errors
import apps.integrations.keap.errors
import apps.integrations.salesforce.errors
from apps.connectors import settings_io, wizard
from apps.connectors.errors import CATALOGUES, COMMON, Catalogue, CrmError, crm_error_text, reason_for
from apps.connectors.forms import CrmChoiceField
from apps.connectors.models import Connector
from apps.connectors.wizard import WizardStep
from apps.integrations.keap import errors as keap_errors
from apps.integrations.salesforce import errors as salesforce_errors
from apps.integrations.salesforce.models import SalesforceConnection
from apps.sync.models import JobStatus
from tests.factories import AccountFactory
from tests.integrations.salesforce.conftest import (  # noqa: F401  (fixtures)
    Deliver,
    _no_background_workers,
    forget_caches,
    insecure_ok,
    make_connector,
    operator,
    story,
)

ERROR_MODULES = (apps.connectors.errors, apps.integrations.keap.errors,
                 apps.integrations.salesforce.errors, requests.exceptions, simple_salesforce.exceptions)
CLASS_NAMES = sorted({name for module in ERROR_MODULES for name, value in vars(module).items()
                      if inspect.isclass(value) and issubclass(value, BaseException)}
                     | {"Exception", "ConnectionError", "TimeoutError", "ValueError", "KeyError"})
STATUSES = [None, 400, 401, 403, 404, 405, 408, 409, 410, 415, 422, 429, 431, 500, 502, 503, 504, 599]
SAID = "The CRM's own words"


def assert_readable(error: CrmError) -> None:
    """A sentence and a details line carrying the code: no template, class name or bare status."""
    message = str(error)
    assert message == error.message
    sentence, separator, details = message.partition("\nDetails: ")
    assert separator, message
    assert "{" not in message and "}" not in message, message
    for name in CLASS_NAMES:
        assert not re.search(rf"\b{re.escape(name)}\b", message), (name, message)
    for text in (sentence, error.reason, *message.splitlines()):
        stripped = text.strip()
        assert not re.fullmatch(r"\d+", stripped), message
        assert not re.fullmatch(r"HTTP \d+", stripped), message
        assert not re.search(r"\w+:\s*$", stripped), message  # "400:", "invalid_request:"
    assert "Response content" not in message
    assert sentence.endswith("."), message
    assert len(sentence.split(". ")) >= 2 or "Nothing to do" in sentence, message  # a next step
    assert error.reason and error.reason in sentence, message
    assert f"code {error.code}" in details, message
    assert error.code, message
    if error.status:
        assert f"HTTP {error.status}" in details, message


def all_catalogues() -> list[Catalogue]:
    assert {"keap", "salesforce"} <= set(CATALOGUES)
    return [*CATALOGUES.values(), COMMON]


@pytest.mark.parametrize("catalogue", all_catalogues(), ids=lambda c: c.kind or "common")
def test_every_code_of_every_catalogue_reads_as_a_sentence(catalogue):
    assert catalogue.entries
    for code, entry in catalogue.entries.items():
        for said in ("", SAID, "a {content} template"):
            error = catalogue.error(code, said=said)
            assert_readable(error)
            assert isinstance(error, entry.kind)
            if said == SAID:
                assert SAID in error.details
        for status in STATUSES:
            assert_readable(catalogue.error(code, status=status, said=SAID))
        assert reason_for(catalogue.kind, code) == entry.reason


@pytest.mark.parametrize("catalogue", all_catalogues(), ids=lambda c: c.kind or "common")
def test_unknown_codes_get_a_helpful_generic_sentence(catalogue):
    error = catalogue.error("SOMETHING_NEW", said=SAID)
    assert_readable(error)
    assert error.reason == catalogue.generic.reason


def keap_bodies(status: int | None) -> list[Any]:
    return [
        keap_errors._UNREADABLE,
        None, {}, [], "text",
        {"code": status, "message": "Invalid email", "status": "Bad Request", "details": []},
        {"code": "INVALID_EMAIL", "message": "The email is not valid"},
        {"message": "no code"},
        {"fault": {"faultstring": "Invalid access token",
                   "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}},
        {"fault": {"faultstring": "", "detail": {}}},
        {"error": "invalid_request", "error_description": ""},
        {"error": "invalid_grant", "error_description": "Invalid Refresh Token"},
    ]


@pytest.mark.parametrize("status", STATUSES)
def test_keap_answers_of_every_status_class(status):
    for body in keap_bodies(status):
        error = keap_errors.classify(status, body, {})
        assert_readable(error)
        assert error.code != "" and not error.message.startswith("HTTP")


def keap_response(status: int, content: bytes, content_type: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = content
    response.headers["Content-Type"] = content_type
    return response


@pytest.mark.parametrize("status", [400, 404, 502, 503])
def test_keap_error_pages_are_never_echoed(status):
    error = keap_errors.classify_response(keap_response(status, b"<html>proxy {x}</html>", "text/html"))
    assert_readable(error)
    assert "proxy" not in error.message and "error page" in error.details
    assert "HTTP 502" not in error.sentence or status != 502  # the status: details only


def salesforce_bodies(status: int | None) -> list[Any]:
    codes = [*salesforce_errors.CATALOGUE.entries, "SOMETHING_NEW", ""]
    return [
        None, "<html>{gateway}</html>", [], {}, {"error": "invalid_grant", "error_description": "bad"},
        *[[{"errorCode": code, "message": f"{SAID} ({code})", "fields": ["Email"]}] for code in codes],
        [{"errorCode": "DUPLICATES_DETECTED", "message": "dup", "duplicateResut": {
            "matchResults": [{"entityType": "Lead", "matchRecords": [{"record": {"Id": "00Q1"}}]}]}}],
    ]


@pytest.mark.parametrize("status", STATUSES)
def test_salesforce_answers_of_every_status_class(status):
    for body in salesforce_bodies(status):
        for action in ("", "reading the Lead fields"):
            error = salesforce_errors.classify(status, body, action=action)
            assert_readable(error)
            assert action in error.sentence


@pytest.mark.parametrize("kind", ["keap", "salesforce"])
def test_each_integrations_classify_error_hook(kind):
    from apps.connectors import registry  # the registry is filled by the apps' ready()

    integration = registry.get(kind)
    for status in STATUSES:
        assert_readable(integration.classify_error(status, {"message": "x", "errorCode": "X"}))


def test_a_simple_salesforce_exception_text_never_shows():
    # The library's str() is its template ("... Response content: {content}"): only its status
    # and content are read (SalesforceClient.call).
    exc = simple_salesforce.exceptions.SalesforceResourceNotFound(
        "https://x/services/data/vabc/sobjects/Lead/describe", 404, "Lead",
        [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
    assert "Response content" in str(exc)
    error = salesforce_errors.classify(exc.status, exc.content, action="reading the Lead fields")
    assert_readable(error)
    assert error.message == (
        "Salesforce has no such record or address when reading the Lead fields. Check the API "
        "version in the connection settings (empty it to use the newest the org offers), then "
        "retry.\nDetails: Salesforce said: The requested resource does not exist (code NOT_FOUND, "
        "HTTP 404)")


def test_keap_refusal_reads_as_the_brief_says():
    error = keap_errors.classify(400, {"code": "INVALID_EMAIL", "message": "Email is invalid"})
    assert error.reason == "Keap refused the contact's email address"
    assert error.details == "Keap said: Email is invalid (code INVALID_EMAIL, HTTP 400)"
    assert error.message.startswith("Keap refused the contact's email address. Correct the ")


@pytest.mark.parametrize(("value", "label", "crm", "expected"), [
    ("MARS", "Person type (Contact.ContactType)", "Keap",
     "MARS is no longer a value of the Keap picklist “Person type”: choose another or re-read the "
     "values from Keap."),
    ("picklist:MARS", "Lead · Region (picklist)", "Salesforce",
     "MARS is no longer a value of the Salesforce picklist “Lead · Region”: choose another or "
     "re-read the values from Salesforce."),
])
def test_a_choice_the_crm_no_longer_offers_is_named_in_words(value, label, crm, expected):
    field = CrmChoiceField(label=label, crm=crm, choices=[("Prospect", "Prospect"),
                                                          ("picklist:East", "Salesforce value: East")])
    with pytest.raises(ValidationError) as refused:
        field.clean(value)
    assert refused.value.messages == [expected]
    assert field.clean("Prospect") == "Prospect"


# ------------------------------------------------------------------ through a real sandbox
def test_a_bad_api_version_fails_the_job_with_the_sentence(request, db, salesforce):
    connector = request.getfixturevalue("make_connector")()
    SalesforceConnection.objects.filter(connector=connector).update(
        api_version="abc", negotiated_api_version="abc")
    forget_caches(connector)
    job = Deliver(connector.account)(story(email="version@example.com").scheduled())
    assert job.status == JobStatus.FAILED
    assert job.error_code == "NOT_FOUND"
    sentence, _, details = job.error.partition("\nDetails: ")
    assert sentence.startswith("“abc” is not a Salesforce API version when searching Salesforce.")
    assert "Check the API version in the connection settings" in sentence
    assert "(code NOT_FOUND, HTTP 404)" in details
    assert "Describe" not in job.error and "Response content" not in job.error
    assert reason_for("salesforce", job.error_code) == "Salesforce has no such record or address"


def test_a_refused_record_fails_the_job_with_the_sentence(request, db, salesforce):
    connector = request.getfixturevalue("make_connector")()
    # Required in the org after the describe was cached: Salesforce refuses the new Lead.
    operator(salesforce, "POST", "custom-fields", json={"object": "Lead", "fields": [
        {"name": "Region__c", "label": "Region", "type": "string", "length": 40, "required": True}]})
    job = Deliver(connector.account)(story(email="refused@example.com").scheduled())
    assert job.status == JobStatus.FAILED
    assert job.error_code == "REQUIRED_FIELD_MISSING"
    sentence, _, details = job.error.partition("\nDetails: ")
    assert sentence == ("Salesforce now requires Lead field “Region” (Region__c). Map it in Step 3, "
                        "Field validation, of this connector, then retry.")
    assert details.startswith("Salesforce said: Required fields are missing")
    assert details.endswith("(code REQUIRED_FIELD_MISSING, HTTP 400)")
    assert reason_for("salesforce", job.error_code) == "Salesforce needs a value for a required field"


# ------------------------------------------------------------ every place a page shows one
DOING = "checking the connection"


def assert_shown_once(text: str, error: CrmError) -> None:
    """A page's text for a CRM error: the catalogue's sentence with no prefix of the page's own
    ("Keap: Keap could not …", "Could not refresh: Could not …"), then the details line; no
    template, class name or bare status."""
    sentence, separator, details = text.partition("\nDetails: ")
    assert separator and details == error.details, text
    assert sentence.startswith(error.reason), text  # nothing in front of the CRM's sentence
    assert sentence.count(error.reason) == 1, text
    words = re.findall(r"\w+", sentence)
    for size in (1, 2, 3):
        assert words[:size] != words[size:2 * size], text  # the same leading words twice
    assert not re.search(r"^(\w+(?: \w+){0,3})\b[^.]*?:\s+\1\b", sentence), text
    assert "{" not in text and "}" not in text, text
    for name in CLASS_NAMES:
        assert not re.search(rf"\b{re.escape(name)}\b", text), (name, text)
    for line in text.splitlines():
        assert not re.fullmatch(r"(HTTP )?\d+\.?", line.strip()), text


def every_error() -> list[CrmError]:
    return [catalogue.error(code, said=SAID, status=status) for catalogue in all_catalogues()
            for code in catalogue.entries for status in (None, 400, 503)]


def test_crm_error_text_names_what_was_done_once():
    for error in every_error():
        assert crm_error_text(error) == error.message
        shown = crm_error_text(error, doing=DOING)
        assert_shown_once(shown, error)
        if f" when {DOING}." in shown:
            assert shown.count(" when ") == 1
    # A raise site that said what it was doing keeps its words (no second "when").
    said = keap_errors.CATALOGUE.error("timeout", action="reading the tags")
    assert crm_error_text(said, doing=DOING).startswith("Keap did not answer in time when reading the tags.")


def raising(error: CrmError):
    def fail(*args, **kwargs):
        raise error
    return fail


class FailingForm(forms.Form):
    """A step whose choices come from a CRM that fails (``step_summary``)."""

    error: CrmError

    def __init__(self, *args, **kwargs):
        raise self.error


def request_with_messages(rf) -> Any:
    request = rf.post("/")
    SessionMiddleware(lambda r: None).process_request(request)
    MessageMiddleware(lambda r: None).process_request(request)
    return request


def test_the_wizard_refresh_and_review_show_each_error_once(rf, db):
    connector = Connector(name="Shown", kind="keap")
    for error in every_error():
        request = request_with_messages(rf)
        step = WizardStep(key="tags", title="Tagging", form_class=forms.Form, refresh=raising(error))
        wizard.refresh(request, connector, step)
        [shown] = [message.message for message in get_messages(request)]
        assert_shown_once(shown, error)
        failing = type("Failing", (FailingForm,), {"error": error})
        [(label, text)] = wizard.step_summary(connector, WizardStep(key="x", title="X", form_class=failing))
        assert label == "Settings"
        assert_shown_once(text, error)


@pytest.mark.parametrize("kind", ["keap", "salesforce"])
def test_the_settings_file_checks_show_each_error_once(kind, monkeypatch):
    """``apps.connectors.settings_io``: a step whose form cannot be built against the CRM."""
    catalogue = CATALOGUES[kind]
    for code in catalogue.entries:
        error = catalogue.error(code, said=SAID)
        step = WizardStep(key="x", title="X", form_class=type("Failing", (FailingForm,), {"error": error}))
        monkeypatch.setattr(settings_io, "steps_for", lambda connector, step=step: [step])
        report = settings_io.Report()
        assert settings_io._check_steps(Connector(name="Shown", kind=kind), {"x": {}}, report) == []
        [problem] = report.problems
        assert problem.path == "steps.x"
        assert_shown_once(problem.message, error)


def test_the_salesforce_steps_show_each_error_once(db, monkeypatch):
    """Steps 2-4 read the org when they are built or saved: a failure is the form's error."""
    from apps.integrations.salesforce import forms as salesforce_forms
    from apps.integrations.salesforce import metadata

    connector = Connector.objects.create(account=AccountFactory(), name="Shown", kind="salesforce")
    for code in salesforce_errors.CATALOGUE.entries:
        error = salesforce_errors.CATALOGUE.error(code, said=SAID, status=400)
        monkeypatch.setattr(metadata, "check_installation", raising(error))
        monkeypatch.setattr(metadata, "sync_required_rules", raising(error))
        monkeypatch.setattr(salesforce_forms, "mapping_targets", raising(error))
        for form_class in (salesforce_forms.InstallationForm, salesforce_forms.RequiredFieldsForm,
                           salesforce_forms.FieldMappingForm):
            form = form_class({}, connector=connector)
            assert not form.is_valid()
            [shown] = form.non_field_errors()
            assert_shown_once(shown, error)
