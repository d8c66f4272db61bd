"""The one outbound-request policy: every URL an administrator or an import file can set.

A CRM connection points wherever its administrator says (a My Domain login URL, an API base).
That makes every such URL an attack on the network the portal runs in (SSRF) and on the
secrets it holds, so every one is checked here, twice:

* **When it is set** (form, admin, import): :func:`check_url` — ``https`` only (plain ``http``
  only to loopback, and only with the development setting ``ALLOW_INSECURE_CRM_URLS``); no
  userinfo, query, fragment, percent-escapes or odd characters in the host; the host must be
  one of the CRM's own host families (:class:`HostFamily`, extended by an operator through
  ``OUTBOUND_EXTRA_ALLOWED_HOSTS``); an IP literal must be public (decimal, hex, octal and
  short spellings such as ``2130706433`` or ``127.1`` are refused outright).
* **When a connection is made**: :class:`OutboundAdapter`, the transport of every CRM
  client's session, checks the URL again, resolves the host, refuses the request unless every
  address is public (loopback only in development), and connects to the address it checked
  (SNI and certificate checks still use the host name), so a DNS answer that changes between
  the check and the connection (rebinding) cannot reach another address.
  :class:`OutboundSession` never follows a redirect: a 3xx is refused, so no secret is sent on
  to a host it was not issued for.

A refused request raises :class:`OutboundRefused` before anything is sent; its message names
the host and what is wrong, never a remote body, and it is the same whether a port is open or
closed (nothing is connected). requests-hardened (Saleor) pins addresses the same way; it is
not used because the family allow-list must be enforced on every request of a session, with
the same address classification as the forms, over the per-thread connection pools of
``apps.connectors.http``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Host names: letters, digits, hyphens and dots (IDNA-encoded); nothing urllib and urllib3
#: could read differently.
_HOST_NAME = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?:\.(?!-)[a-z0-9-]{1,63})*$")
#: What ``inet_aton`` (and so ``getaddrinfo``) would read as an IPv4 address: numbers in
#: decimal, octal or hex, one to four parts.
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?$")
RESOLVE_CACHE_SECONDS = 60.0


class OutboundRefused(requests.RequestException):
    """The policy refuses this URL or address; nothing was sent. ``str()`` is for people.

    Not a ``ValueError`` (as ``requests.InvalidURL`` is): the adapter would re-wrap it.
    """

    def __init__(self, message: str, *, response: requests.Response | None = None) -> None:
        super().__init__(message, response=response)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class HostFamily:
    """The hosts a CRM is reached at: ``api.example.com`` exactly, ``*.example.com`` any
    subdomain of it. ``key`` names the family in ``OUTBOUND_EXTRA_ALLOWED_HOSTS``."""

    key: str
    label: str
    patterns: tuple[str, ...]

    def all_patterns(self) -> tuple[str, ...]:
        extra = (settings.OUTBOUND_EXTRA_ALLOWED_HOSTS or {}).get(self.key, ())
        return (*self.patterns, *(p.strip().lower() for p in extra if p.strip()))

    def allows(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.all_patterns():
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                    return True
            elif host == pattern:
                return True
        return False

    def describe(self) -> str:
        return ", ".join(self.all_patterns())


def insecure_allowed() -> bool:
    """Development only: plain http and loopback addresses (the local CRM sandboxes)."""
    return bool(settings.ALLOW_INSECURE_CRM_URLS)


# ------------------------------------------------------------------ addresses
def address_problem(address: IPAddress) -> str | None:
    """Why the portal must not connect to this address, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return address_problem(embedded) or (
                "an IPv6 address that embeds an IPv4 address" if address.ipv4_mapped is None else None)
        if address in ipaddress.ip_network("64:ff9b::/96") or address in ipaddress.ip_network(
                "64:ff9b:1::/48"):
            return "a NAT64 address"
    if address.is_loopback:
        return None if insecure_allowed() else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified or address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "an address that is not public"
    return None


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


# ---------------------------------------------------------------------- URLs
@dataclass(frozen=True)
class CheckedURL:
    url: str  # as given, without a trailing slash
    scheme: str
    host: str  # lower case, no trailing dot, no brackets
    port: int

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{urlsplit(self.url).netloc}"


def parse(url: str, family: HostFamily, *, what: str = "This URL", query: bool = False) -> CheckedURL:
    """The URL if the policy allows it (``OutboundRefused`` with a sentence otherwise).

    A URL that is set (a base, a login URL) has no query; a request's URL may (``query``).
    """
    text, parts = _split(url, what=what, query=query)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        raise OutboundRefused(f"{what} has an invalid port.") from None
    if not host:
        raise OutboundRefused(f"{what} has no host name.")
    address = _literal_address(host)
    if address is None:
        host = _host_name(host, what=what)
    _check_destination(scheme, host, address, family, what=what)
    return CheckedURL(url=text.rstrip("/"), scheme=scheme, host=host,
                      port=port or (443 if scheme == "https" else 80))


def _split(url: str, *, what: str, query: bool):
    """The URL's text and parts, once its spelling is one the policy reads the same way as the
    HTTP library will (no spaces, credentials, escapes or fragments)."""
    text = (url or "").strip()
    if not text:
        raise OutboundRefused(f"{what} is empty.")
    if any(ch.isspace() or ord(ch) < 32 or ch in "\\^`{}|<>\"" for ch in text):
        raise OutboundRefused(f"{what} contains characters a URL cannot have.")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("https", "http"):
        raise OutboundRefused(f"{what} must start with https://.")
    if "@" in parts.netloc:
        raise OutboundRefused(f"{what} must not contain a user name or password (…@).")
    if parts.fragment or (not query and (parts.query or text.endswith(("?", "#")))):
        raise OutboundRefused(f"{what} must not have a query (?…) or fragment (#…).")
    if "%" in parts.netloc:
        raise OutboundRefused(f"{what} has an escaped (%…) host name.")
    return text, parts


def _host_name(host: str, *, what: str) -> str:
    """A host name (not an IP literal) in its ASCII, lower-case form."""
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise OutboundRefused(f"{what} has an invalid host name.") from None
    if _NUMERIC_HOST.match(host):
        raise OutboundRefused(f"{what} spells an IP address in a form Bookbridge does not accept.")
    if not _HOST_NAME.match(host):
        raise OutboundRefused(f"{what} has an invalid host name.")
    return host


def _check_destination(scheme: str, host: str, address, family: HostFamily, *, what: str) -> None:
    """The host is one of the family's, over https — or a local sandbox where that is allowed."""
    local = address is not None and address.is_loopback or host == "localhost"
    if scheme == "http" and not (local and insecure_allowed()):
        raise OutboundRefused(f"{what} must start with https:// (plain http:// is only allowed for a "
                              "sandbox on this machine, with the ALLOW_INSECURE_CRM_URLS development "
                              "setting).")
    if local and insecure_allowed():
        return  # a local sandbox
    if address is not None:
        problem = address_problem(address)
        raise OutboundRefused(f"{what} points at {problem or 'an IP address'}; use the "
                              f"{family.label} host name ({family.describe()}).")
    if not family.allows(host):
        raise OutboundRefused(f"{what} is not a {family.label} address: {host} is not one of "
                              f"{family.describe()}.")


def check_url(url: str, family: HostFamily, *, what: str = "This URL") -> str:
    """The URL, without a trailing slash, if the policy allows it; ``OutboundRefused`` if not."""
    return parse(url, family, what=what).url


# ----------------------------------------------------------------- resolving
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


#: Replaced by tests that need a name to resolve to a chosen address (no DNS here); they call
#: :func:`forget_resolved` around it.
resolver: Resolver = system_resolver
_resolved: dict[tuple[str, int], tuple[str, float]] = {}
_resolved_lock = threading.Lock()


def forget_resolved() -> None:
    with _resolved_lock:
        _resolved.clear()


def safe_address(host: str, port: int) -> str:
    """An address of ``host`` that the policy allows, or ``OutboundRefused``.

    Every address of the answer must be allowed (one bad answer is a rebinding attempt). A
    checked answer is kept for ``RESOLVE_CACHE_SECONDS``: connections go to the address that
    was checked, so a cached answer can be stale but never unsafe.
    """
    literal = _literal_address(host)
    if literal is not None:
        problem = address_problem(literal)
        if problem:
            raise OutboundRefused(f"Bookbridge does not connect to {host}: it is {problem}.")
        return str(literal)
    key = (host, port)
    now = time.monotonic()
    with _resolved_lock:
        cached = _resolved.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError):
        raise requests.ConnectionError(f"Could not find the host {host}.") from None
    if not answers:
        raise requests.ConnectionError(f"Could not find the host {host}.")
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        problem = address_problem(address)
        if problem:
            raise OutboundRefused(f"Bookbridge does not connect to {host}: it resolves to {problem}.")
    with _resolved_lock:
        _resolved[key] = (answers[0], now + RESOLVE_CACHE_SECONDS)
    return answers[0]


# ----------------------------------------------------------------- transport
class OutboundAdapter(HTTPAdapter):
    """A transport that applies the policy of ``family`` to every request it sends."""

    def __init__(self, family: HostFamily, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parse(request.url or "", self.family, what="The address", query=True)
        return super().send(request, *args, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host = host_params["host"]
        port = host_params["port"] or (443 if host_params["scheme"] == "https" else 80)
        address = safe_address(host, port)
        headers = CaseInsensitiveDict(request.headers or {})
        bracketed = f"[{host}]" if ":" in host else host
        headers["Host"] = bracketed if host_params["port"] is None else f"{bracketed}:{host_params['port']}"
        request.headers = headers
        if host_params["scheme"] == "https":
            pool_kwargs["assert_hostname"] = host  # the certificate is checked for the name ...
            pool_kwargs["server_hostname"] = host  # ... and SNI names it, not the address
        host_params["host"] = address
        return host_params, pool_kwargs


class OutboundSession(requests.Session):
    """A session that never follows redirects: a 3xx answer is refused (secrets stay put)."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        response = super().send(request, **kwargs)
        if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
            target = urlsplit(response.headers.get("Location") or "").hostname or "another address"
            raise OutboundRefused(
                f"{urlsplit(request.url or '').hostname} answered with a redirect to {target}; "
                "Bookbridge does not follow redirects. Check the URL.", response=response)
        return response
