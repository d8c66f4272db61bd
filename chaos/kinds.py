"""Two small connector kinds that talk to the CRM sandboxes over HTTP, for the fault harness,
the benchmark and the exactly-once tests — used when (or in addition to) the real ``keap`` /
``salesforce`` integrations are not registered.

They follow the rules the real connectors must follow:

* every call goes through ``recorder.throttle()`` first and reports itself to the recorder with
  its response headers (rate limit, quota headers, circuit breaker, job lease);
* typed errors: timeouts / connection errors / 5xx / 429 → ``TransientCrmError``; 401 → one
  re-authentication, then ``AuthCrmError``; other 4xx → ``PermanentCrmError``;
* **exactly-once creates**: before creating a record the kind saves an *intent* link, and right
  after the create the record link. A resumed job that finds an intent but no link (the worker
  died between the create and the link) looks the record up in the CRM instead of creating
  it again.

A booking becomes one contact whose email is the customer's and whose job title (Keap
``job_title`` / Salesforce ``Title``) is the booking's current lifecycle action; the family
name / ``LastName`` is the booking id. New booking: create + stamp (2 calls); update: 1 call.

Connector settings: ``{"base_url": "http://127.0.0.1:PORT"}``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import requests
from django.core.cache import cache

from apps.connectors import registry
from apps.connectors.errors import AuthCrmError, PermanentCrmError, TransientCrmError

TIMEOUT = (3.0, 10.0)
KEAP_CLIENT = ("sandbox-client", "sandbox-secret")
SF_LOGIN = {
    "grant_type": "password", "client_id": "bookbridge-sandbox-client-id",
    "client_secret": "bookbridge-sandbox-client-secret",
    "username": "integration@bookbridge.sandbox", "password": "sandbox-passwordSANDBOXTOKEN",
}
SF_DATA = "/services/data/v60.0"
_session = requests.Session()


class _Unauthorized(Exception):
    pass


def _call(context, method: str, url: str, *, token_key: str | None = None, login=None, **kwargs):
    """One CRM request with throttle, recording and typed errors; re-authenticates once on 401."""
    for attempt in (1, 2):
        headers = dict(kwargs.pop("headers", {}) or {})
        if login is not None:
            headers["Authorization"] = f"Bearer {_token(context, token_key, login, fresh=attempt == 2)}"
        context.recorder.throttle()
        started = time.monotonic()
        try:
            response = _session.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            context.recorder(method=method, url=url, status_code=None,
                             duration_ms=(time.monotonic() - started) * 1000,
                             request_body=kwargs.get("json"), crm_error_code="timeout")
            raise TransientCrmError(f"CRM unreachable: {exc.__class__.__name__}", code="timeout") from exc
        body: Any
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text[:500]
        context.recorder(method=method, url=url, status_code=response.status_code,
                         duration_ms=(time.monotonic() - started) * 1000, request_body=kwargs.get("json"),
                         response_body=body, response_headers=response.headers,
                         crm_error_code="" if response.ok else str(response.status_code))
        if response.status_code == 401 and login is not None and attempt == 1:
            kwargs["headers"] = headers
            continue
        return _check(response, body)
    raise AssertionError("unreachable")


def _check(response: requests.Response, body: Any) -> Any:
    status = response.status_code
    if status == 429:
        retry = response.headers.get("Retry-After")
        raise TransientCrmError("CRM throttled the request (429)", code="429", status=429,
                                retry_after=float(retry) if retry and retry.isdigit() else 1.0)
    if status >= 500:
        raise TransientCrmError(f"CRM error {status}", code=str(status), status=status)
    if status == 401:
        raise AuthCrmError("CRM refused our credentials twice", code="401", status=401)
    if status == 403 and "REQUEST_LIMIT_EXCEEDED" in str(body):
        # Salesforce's throttle answer (the sandbox's quota fault): transient, like a 429.
        raise TransientCrmError("CRM request limit exceeded", code="REQUEST_LIMIT_EXCEEDED", status=403,
                                retry_after=1.0)
    if status >= 400:
        raise PermanentCrmError(f"CRM refused the data: {body}", code=str(status), status=status)
    return body


def _token(context, key: str, login, *, fresh: bool) -> str:
    cache_key = f"chaos:token:{context.connector.pk}:{key}"
    token = None if fresh else cache.get(cache_key)
    if not token:
        try:
            token = login(context)
        except (requests.RequestException, KeyError, ValueError) as exc:
            raise TransientCrmError(f"Login failed: {exc.__class__.__name__}", code="login") from exc
        cache.set(cache_key, token, 3600)
    return token


def _base(context) -> str:
    return context.connector.settings["base_url"].rstrip("/")


def _facts(context) -> dict[str, str]:
    booking = context.booking
    return {
        "booking_id": context.job.booking_id,
        "email": (booking.customer_email if booking else context.event.customer_email) or "",
        "stage": (booking.lifecycle_action if booking else "") or context.event.lifecycle_action or "",
    }


def _plan(context) -> list[dict[str, Any]]:
    facts = _facts(context)
    contact = context.find_link("contact")
    if contact:
        return [{"op": "update_contact", "id": contact, **facts}]
    return [{"op": "create_contact", **facts}, {"op": "stamp_contact", **facts}]


def _ensure_contact(context, facts, *, search, create) -> str:
    """The contact's id: linked, found after an interrupted create, or created once."""
    contact = context.find_link("contact")
    if contact:
        return contact
    if context.find_link("contact_intent"):
        contact = search(facts)
    if not contact:
        context.save_link("contact_intent", "pending")
        contact = create(facts)
    context.save_link("contact", contact)
    return contact


# --------------------------------------------------------------------------- Keap
def _keap_login(context) -> str:
    base = _base(context)
    answer = _session.get(f"{base}/app/oauth/authorize", allow_redirects=False, timeout=TIMEOUT, params={
        "client_id": KEAP_CLIENT[0], "response_type": "code", "redirect_uri": "http://bookbridge.invalid/cb"})
    answer.raise_for_status()
    code = answer.headers["Location"].split("code=")[1].split("&")[0]
    token = _session.post(f"{base}/token", auth=KEAP_CLIENT, timeout=TIMEOUT, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://bookbridge.invalid/cb"})
    token.raise_for_status()
    return token.json()["access_token"]


def _keap_apply(context, plan) -> dict[str, Any]:
    base = f"{_base(context)}/crm/rest/v1"

    def call(method, path, **kwargs):
        return _call(context, method, base + path, token_key="keap", login=_keap_login, **kwargs)

    def search(facts):
        found = call("GET", "/contacts", params={"email": facts["email"], "family_name": facts["booking_id"]})
        contacts = (found or {}).get("contacts", [])
        return str(contacts[0]["id"]) if contacts else None

    def create(facts):
        return str(call("POST", "/contacts", json={
            "email_addresses": [{"email": facts["email"], "field": "EMAIL1"}],
            "family_name": facts["booking_id"], "given_name": "Chaos"})["id"])

    facts = plan[0]
    contact = _ensure_contact(context, facts, search=search, create=create)
    call("PATCH", f"/contacts/{contact}", json={"job_title": facts["stage"]})
    return {"contact": contact, "stage": facts["stage"]}


# --------------------------------------------------------------------------- Salesforce
def _sf_login(context) -> str:
    answer = _session.post(f"{_base(context)}/services/oauth2/token", data=SF_LOGIN, timeout=TIMEOUT)
    answer.raise_for_status()
    return answer.json()["access_token"]


def _sf_apply(context, plan) -> dict[str, Any]:
    base = f"{_base(context)}{SF_DATA}"

    def call(method, path, **kwargs):
        return _call(context, method, base + path, token_key="sf", login=_sf_login, **kwargs)

    def search(facts):
        soql = f"SELECT Id FROM Contact WHERE LastName = '{facts['booking_id']}'"
        found = call("GET", f"/query/?q={quote(soql)}")
        records = (found or {}).get("records", [])
        return records[0]["Id"] if records else None

    def create(facts):
        return call("POST", "/sobjects/Contact/", json={"LastName": facts["booking_id"],
                                                        "Email": facts["email"]})["id"]

    facts = plan[0]
    contact = _ensure_contact(context, facts, search=search, create=create)
    call("PATCH", f"/sobjects/Contact/{contact}", json={"Title": facts["stage"]})
    return {"contact": contact, "stage": facts["stage"]}


SANDBOX_KEAP = registry.register(registry.SimpleKind(
    key="sandbox_keap", label="Keap sandbox (harness)", plan_fn=_plan, apply_fn=_keap_apply,
    description="Fault-harness connector: one Keap contact per booking, over the REST API."))
SANDBOX_SALESFORCE = registry.register(registry.SimpleKind(
    key="sandbox_salesforce", label="Salesforce sandbox (harness)", plan_fn=_plan, apply_fn=_sf_apply,
    description="Fault-harness connector: one Salesforce Contact per booking, over the REST API."))

#: the real integrations' kinds, when they are registered
REAL_KINDS = {"sandbox_keap": "keap", "sandbox_salesforce": "salesforce"}


def crm_state(kind: str, sandbox_state: dict[str, list[dict]]) -> dict[str, list[tuple[str, str]]]:
    """{booking_id: [(email, stage), ...]} of the contacts a harness kind wrote to a sandbox."""
    out: dict[str, list[tuple[str, str]]] = {}
    if kind == "sandbox_keap":
        for contact in sandbox_state.get("contacts", []):
            if contact.get("given_name") != "Chaos":
                continue
            emails = contact.get("email_addresses") or [{}]
            out.setdefault(contact.get("family_name") or "", []).append(
                (emails[0].get("email", ""), contact.get("job_title") or ""))
    else:
        for contact in sandbox_state.get("Contact", []):
            # The harness's customers (every source's booking ids differ: OnceHub BKNG-…,
            # Calendly invitee uuids, Cal.com uids).
            if str(contact.get("Email") or "").startswith("chaos-"):
                out.setdefault(contact["LastName"], []).append((contact.get("Email") or "",
                                                                contact.get("Title") or ""))
    return out
