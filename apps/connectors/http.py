"""HTTP plumbing shared by the CRM clients.

* Every CRM session is an ``apps.core.outbound.OutboundSession`` over an ``OutboundAdapter`` of
  the CRM's host family: the one outbound-request policy applies to every request, redirects
  are never followed, and connections go to the address the policy checked.
* Connection pools live in the transport adapters: each worker thread keeps one per host family
  (and per kind of adapter), so a job's requests reuse the connections (and TLS sessions) the
  thread's previous jobs opened, while every client keeps its own session (cookies, hooks).
* The environment (``*_PROXY``, ``NO_PROXY``, CA bundle) is read once per host, not on every
  request as ``requests`` does when ``trust_env`` is on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from apps.core.outbound import HostFamily, OutboundAdapter

_local = threading.local()
_proxies: dict[str, dict[str, str]] = {}


def thread_adapter(key: Hashable, factory: Callable[[], HTTPAdapter]) -> HTTPAdapter:
    """This thread's adapter for ``key`` (made by ``factory`` the first time)."""
    adapters = getattr(_local, "adapters", None)
    if adapters is None:
        adapters = _local.adapters = {}
    adapter = adapters.get(key)
    if adapter is None:
        adapter = adapters[key] = factory()
    return adapter


def proxies_for(url: str) -> dict[str, str]:
    """The environment's proxies for a URL's host (``*_PROXY``, ``NO_PROXY``), read once per host."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin not in _proxies:
        _proxies[origin] = requests.utils.get_environ_proxies(origin)
    return _proxies[origin]


def ca_bundle() -> str | bool:
    """What ``requests`` would verify TLS against, from the environment."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def pooled(session: requests.Session, family: HostFamily) -> requests.Session:
    """Make ``session`` send through this thread's policy adapter of ``family``."""
    session.trust_env = False
    session.verify = ca_bundle()
    adapter = thread_adapter(("outbound", family.key), lambda: OutboundAdapter(family))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
