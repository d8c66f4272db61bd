"""A client of OnceHub's REST API v2, the bookings a backfill reads (SPEC §15).

Facts from OnceHub's OpenAPI files (``../shared/reference/oncehub/openapi``): the server is
``https://api.oncehub.com/v2`` and every request names the account's key in the ``API-Key``
header (``index.yaml``, security scheme ``ApiKey``); ``GET /test`` checks a key
(``resources/authentication/validate.yaml``); ``GET /bookings`` lists bookings with
``creation_time`` / ``last_updated_time`` ``.gt`` / ``.lt`` filters declared as dates and cursor
paging by ``after`` = the last id of a page, ``limit`` up to 100, ``has_more``
(``resources/bookings/list.yaml``, ``components/parameters/common.yaml``); errors are
``{"type", "message", "param"?}`` (``components/responses/errors.yaml``). The rate limit is 5
requests a second per account (``../shared/reference/oncehub-webhooks-and-connectors.md`` §6.5).

Every request goes through the outbound policy (``apps.core.outbound``: OnceHub's host family,
no redirects, checked addresses) with explicit timeouts; no request is made inside a database
transaction. Failures raise ``OnceHubApiError`` with a sentence for people (``CATALOGUE``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from apps.accounts.models import Account, SourceApiKey
from apps.accounts.selectors import source_api_key
from apps.accounts.services import set_source_api_key
from apps.core.outbound import HostFamily, OutboundAdapter, OutboundRefused, OutboundSession, check_url

from .lifecycle import utc_moment

HOSTS = HostFamily("oncehub", "OnceHub", ("api.oncehub.com",))
DEFAULT_API_BASE = "https://api.oncehub.com/v2"
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
PAGE_SIZE = 100  # the most list.yaml allows
#: OnceHub allows 5 requests a second per account: pages are read no faster than that.
MIN_SECONDS_BETWEEN_REQUESTS = 0.2
#: A listing that goes on for more pages than this is cut short (a range of 20,000 bookings).
MAX_PAGES = 200


@dataclass(frozen=True)
class Entry:
    reason: str
    next_step: str


#: What each failure means for people, and what to do about it.
CATALOGUE: dict[str, Entry] = {
    "no_api_key": Entry("This account has no OnceHub API key", "Store the key from OnceHub's "
                        "APIs & Webhooks page first (manage.py backfill --api-key)."),
    "address_refused": Entry("Bookbridge does not send requests to this OnceHub address",
                             "Use https://api.oncehub.com/v2."),
    "auth": Entry("OnceHub refused the API key", "Copy the account's current key from OnceHub's "
                  "APIs & Webhooks page and store it again."),
    "forbidden": Entry("OnceHub does not allow API access for this account",
                       "OnceHub's API needs its Enterprise plan."),
    "rate_limited": Entry("OnceHub asked Bookbridge to slow down",
                          "Run the backfill again in a minute."),
    "bad_request": Entry("OnceHub refused the request", "Check the dates of the range."),
    "server_error": Entry("OnceHub had a problem answering", "Run the backfill again later."),
    "timeout": Entry("OnceHub did not answer in time", "Run the backfill again later."),
    "connection_error": Entry("Bookbridge could not reach OnceHub",
                              "Check the network and run the backfill again."),
    "bad_answer": Entry("OnceHub's answer could not be read", "Run the backfill again later."),
    "too_many_pages": Entry("The range holds more bookings than one backfill reads",
                            "Backfill a shorter range."),
}


class OnceHubApiError(Exception):
    """A failed OnceHub API call; ``str()`` is "<reason>. <next step>" and OnceHub's words."""

    def __init__(self, code: str, *, said: str = "") -> None:
        entry = CATALOGUE[code]
        self.code = code
        self.message = f"{entry.reason}. {entry.next_step}" + (f" Details: {said}" if said else "")
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def _said(response: requests.Response) -> str:
    """OnceHub's own message of a failed answer, in words."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else ""
    return f"OnceHub said: {message} (HTTP {response.status_code})" if message else \
        f"OnceHub answered HTTP {response.status_code}"


def _code_for(status: int) -> str:
    if status == 401:
        return "auth"
    if status == 403:
        return "forbidden"
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "bad_request"


def store_api_key(*, account: Account, api_key: str, api_base: str = DEFAULT_API_BASE) -> SourceApiKey:
    """Check the address against the outbound policy, then store the key encrypted."""
    try:
        base = check_url(api_base, HOSTS, what="The OnceHub API address")
    except OutboundRefused as exc:
        raise OnceHubApiError("address_refused", said=str(exc)) from exc
    return set_source_api_key(account=account, api_key=api_key.strip(), api_base=base)


def api_for(account: Account) -> OnceHubApi:
    """The account's client, from its stored key; ``no_api_key`` when there is none."""
    stored = source_api_key(account)
    if stored is None or not stored.api_key:
        raise OnceHubApiError("no_api_key")
    return OnceHubApi(api_key=stored.api_key, api_base=stored.api_base)


class OnceHubApi:
    def __init__(self, *, api_key: str, api_base: str = DEFAULT_API_BASE,
                 session: requests.Session | None = None) -> None:
        self.api_key = api_key
        self.api_base = api_base.rstrip("/")
        self.session = session or _session()
        self._last_request = 0.0

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET; the decoded JSON answer, or ``OnceHubApiError``."""
        wait = self._last_request + MIN_SECONDS_BETWEEN_REQUESTS - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # OnceHub's published rate limit, not a guess at timing
        self._last_request = time.monotonic()
        try:
            response = self.session.get(
                f"{self.api_base}{path}", params=params, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                headers={"API-Key": self.api_key, "Accept": "application/json"})
        except OutboundRefused as exc:
            raise OnceHubApiError("address_refused", said=str(exc)) from exc
        except requests.Timeout as exc:
            raise OnceHubApiError("timeout", said=f"no answer within {READ_TIMEOUT} seconds") from exc
        except requests.ConnectionError as exc:
            raise OnceHubApiError("connection_error") from exc
        if not response.ok:
            raise OnceHubApiError(_code_for(response.status_code), said=_said(response))
        try:
            return response.json()
        except ValueError as exc:
            raise OnceHubApiError("bad_answer") from exc

    def check(self) -> str:
        """OnceHub's sentence naming the account the key belongs to."""
        answer = self.get("/test")
        return answer.get("message", "") if isinstance(answer, dict) else ""

    def bookings(self, *, start: datetime, end: datetime, by: str = "last_updated_time") -> Iterator[dict]:
        """Every booking whose ``by`` time lies in [start, end], page after page.

        list.yaml declares the filters as dates, so the request asks for the whole days around
        the range and the exact bounds are applied here.
        """
        params: dict[str, Any] = {
            f"{by}.gt": (start - timedelta(days=1)).date().isoformat(),
            f"{by}.lt": (end + timedelta(days=1)).date().isoformat(),
            "limit": PAGE_SIZE,
        }
        for _ in range(MAX_PAGES):
            page = self.get("/bookings", params)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise OnceHubApiError("bad_answer")
            for booking in data:
                moment = utc_moment(booking.get(by)) if isinstance(booking, dict) else None
                if moment is not None and start <= moment <= end:
                    yield booking
            if not page.get("has_more") or not data:
                return
            params = {**params, "after": data[-1].get("id", "")}
        raise OnceHubApiError("too_many_pages")


def _session() -> requests.Session:
    """A session under the outbound policy of OnceHub's hosts; the environment is not read."""
    session = OutboundSession()
    session.trust_env = False
    adapter = OutboundAdapter(HOSTS)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
