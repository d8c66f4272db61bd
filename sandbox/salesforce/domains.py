"""Which Salesforce host a request was addressed to: a generic login host or the org's My Domain.

A current org answers on three kinds of host, and some flows depend on which one was asked:

* ``login.salesforce.com`` / ``test.salesforce.com`` — the generic login hosts of production
  and sandbox orgs. They serve the web-server, refresh, JWT-bearer and username-password flows
  and SOAP ``login()``, but not the client credentials flow ("OAuth 2.0 Client Credentials Flow
  for Server-to-Server Integration", help.salesforce.com ``remoteaccess_oauth_client_credentials_flow``:
  the token request goes to the org's My Domain; on a login host Salesforce answers
  ``invalid_grant`` "request not supported on this domain").
* the org's My Domain (``bookbridge-sandbox.my.salesforce.com`` here, ``--my-domain`` to change
  it): every flow; the ``instance_url`` of every login answer points there.

Everything runs on one loopback port, so the sandbox tells them apart by the request's ``Host``
header — what a client sends when it routes Salesforce's host names to the sandbox with a
transport adapter that keeps the name (as ``apps/core/outbound.py`` does for real hosts: it
connects to a checked address but sends the name in ``Host``):

* ``Host: login.salesforce.com`` or ``test.salesforce.com`` (any port): that login host;
* ``Host: <my domain>``: the My Domain; answers point to ``https://<my domain>``;
* any other ``Host`` — the sandbox's own address (``127.0.0.1:PORT``), which is what a client
  that rewrites URLs to the sandbox sends, such as the product's ``route_plain_http`` today —
  is the org's My Domain too (the operator can make it a login host instead, org setting
  ``loopback_host``: ``my_domain`` | ``login`` | ``test``), and answers point back to that
  address, as the sandbox always did.
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.wrappers import Request

LOGIN = "login"
TEST = "test"
MY_DOMAIN = "my_domain"
KINDS = (MY_DOMAIN, LOGIN, TEST)
LOGIN_HOSTS = {"login.salesforce.com": LOGIN, "test.salesforce.com": TEST}
LOGIN_AUDIENCES = {LOGIN: "https://login.salesforce.com", TEST: "https://test.salesforce.com"}


@dataclass(frozen=True)
class Domain:
    """The host a request was addressed to, and the URLs the answers give for it."""

    kind: str
    #: ``scheme://host[:port]`` as the client addressed it (identity URLs are built on it).
    origin: str
    #: Where the org's APIs are for this client (``instance_url``, SOAP ``serverUrl``).
    instance_url: str
    my_domain_url: str

    @property
    def is_login_host(self) -> bool:
        return self.kind in (LOGIN, TEST)

    def audiences(self) -> frozenset[str]:
        """The JWT ``aud`` values this host accepts ("OAuth 2.0 JWT Bearer Flow for
        Server-to-Server Integration": the login URL of the host asked, or the My Domain)."""
        if self.is_login_host:
            return frozenset({LOGIN_AUDIENCES[self.kind]})
        return frozenset({*LOGIN_AUDIENCES.values(), self.my_domain_url, self.origin})


def classify(request: Request, my_domain: str, loopback_as: str = MY_DOMAIN) -> Domain:
    """The ``Domain`` of ``request`` by its ``Host`` header (see the module docstring)."""
    host = request.host.lower()
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    name = name.rstrip(".")
    suffix = f":{port}" if port else ""
    my_domain_url = f"https://{my_domain}"
    if name in LOGIN_HOSTS or name == my_domain:
        kind = LOGIN_HOSTS.get(name, MY_DOMAIN)
        return Domain(kind, f"https://{host}", f"{my_domain_url}{suffix}", my_domain_url)
    addressed = request.host_url.rstrip("/")
    return Domain(loopback_as, addressed, addressed, my_domain_url)
