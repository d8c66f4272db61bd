"""The CRM clients' shared HTTP plumbing: per-thread pools, the environment read once."""

import threading

from requests.adapters import HTTPAdapter

from apps.connectors import http
from apps.core.outbound import HostFamily, OutboundAdapter


def test_proxies_come_from_the_environment_once_per_host(monkeypatch):
    monkeypatch.setattr(http, "_proxies", {})
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    proxies = http.proxies_for("https://api.infusionsoft.com/crm/rest/v1/contacts")
    assert proxies["https"] == "http://proxy.internal:3128"
    assert "https" not in http.proxies_for("https://localhost:8123/crm/rest/v1/contacts")  # NO_PROXY
    monkeypatch.setenv("HTTPS_PROXY", "http://other:1")
    assert http.proxies_for("https://api.infusionsoft.com/token")["https"] == "http://proxy.internal:3128"


def test_each_thread_keeps_its_own_adapters():
    mine = http.thread_adapter("default", HTTPAdapter)
    assert http.thread_adapter("default", HTTPAdapter) is mine
    assert http.thread_adapter(("other", 1), HTTPAdapter) is not mine
    others = []
    thread = threading.Thread(target=lambda: others.append(http.thread_adapter("default", HTTPAdapter)))
    thread.start()
    thread.join()
    assert others[0] is not mine


def test_pooled_sessions_share_the_thread_adapter_and_ignore_the_environment_per_request():
    import requests

    family = HostFamily("example", "Example", ("*.example.test",))
    first, second = http.pooled(requests.Session(), family), http.pooled(requests.Session(), family)
    adapter = first.get_adapter("https://example.test/")
    assert adapter is second.get_adapter("http://example.test/")
    assert isinstance(adapter, OutboundAdapter) and adapter.family is family  # the policy's transport
    assert first.trust_env is False and second.cookies is not first.cookies
