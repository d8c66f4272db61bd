"""The outbound-request policy (apps/core/outbound.py) itself: what a URL may be, in production.

Each refused spelling here reached an internal service on the code before the policy: a Keap
``api_base`` or a Salesforce login URL was a plain ``URLField`` / "any https host".
"""

from __future__ import annotations

import pytest

from apps.core import outbound
from apps.integrations.keap.connection import HOSTS as KEAP
from apps.integrations.salesforce.connection import HOSTS as SALESFORCE

INTERNAL = [
    "http://127.0.0.1:6379/",
    "https://127.0.0.1:6379",
    "http://localhost:6379/",
    "https://localhost/",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://0.0.0.0/",
    "https://224.0.0.1/",  # multicast
    "https://240.0.0.1/",  # reserved
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "https://[::ffff:7f00:1]/",
    "https://[fe80::1]/",  # link-local
    "https://[fc00::1]/",  # unique local
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://[64:ff9b::a00:5]/",  # NAT64 of 10.0.0.5
    "https://2130706433/",  # decimal 127.0.0.1
    "https://0x7f000001/",  # hex
    "https://0177.0.0.1/",  # octal
    "https://127.1/",  # short form
    "https://0x7f.1/",
    "https://user:pw@internal.corp/",
    "https://user@login.salesforce.com/",
    "https://metadata.google.internal/",
    "https://evil.example?.keap.com/",
    "https://evil.example#.infusionsoft.com/",
    "https://evil.example/.my.salesforce.com",
    "https://evil.example\\@login.salesforce.com/",
    "https://login.salesforce.com.evil.example/",
    "https://%6c%6fcalhost/",
    "ftp://api.infusionsoft.com/crm",
    "gopher://127.0.0.1:6379/_INFO",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "https://api.infusionsoft.com/crm?",  # a query would turn stored calls into anything
    "https://api.infusionsoft.com/crm#x",
    "https:// api.infusionsoft.com/crm",
    "http://api.infusionsoft.com/crm",  # plain http to a real host
]


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.ALLOW_INSECURE_CRM_URLS = False
    settings.OUTBOUND_EXTRA_ALLOWED_HOSTS = {}


@pytest.mark.parametrize("family", [KEAP, SALESFORCE], ids=["keap", "salesforce"])
@pytest.mark.parametrize("url", INTERNAL)
def test_internal_and_foreign_urls_are_refused_in_production(production, family, url):
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.check_url(url, family, what="The URL")
    message = str(refused.value)
    assert message.startswith("The URL") and "{" not in message and "Error" not in message


@pytest.mark.parametrize(("family", "url"), [
    (KEAP, "https://api.infusionsoft.com/crm"),
    (KEAP, "https://api.keap.com/crm/"),
    (KEAP, "https://accounts.infusionsoft.com/app/oauth/authorize"),
    (KEAP, "https://API.Infusionsoft.com./token"),
    (SALESFORCE, "https://login.salesforce.com"),
    (SALESFORCE, "https://test.salesforce.com"),
    (SALESFORCE, "https://acme.my.salesforce.com"),
    (SALESFORCE, "https://acme--uat.sandbox.my.salesforce.com"),
    (SALESFORCE, "https://acme.lightning.force.com"),
])
def test_the_crms_own_hosts_are_allowed(production, family, url):
    assert outbound.check_url(url, family) == url.rstrip("/")


def test_a_family_is_not_another_crm(production):
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("https://login.salesforce.com", KEAP)
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("https://api.infusionsoft.com/crm", SALESFORCE)


def test_an_operator_can_extend_a_family_but_not_reach_internal_addresses(production, settings):
    settings.OUTBOUND_EXTRA_ALLOWED_HOSTS = {"keap": ["api.keap-eu.example.net"]}
    assert outbound.check_url("https://api.keap-eu.example.net/crm", KEAP)
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("https://api.keap-eu.example.net/crm", SALESFORCE)
    with pytest.raises(outbound.OutboundRefused):
        outbound.safe_address("10.0.0.5", 443)


def test_development_reaches_loopback_sandboxes_only(settings):
    settings.ALLOW_INSECURE_CRM_URLS = True
    assert outbound.check_url("http://127.0.0.1:8101/crm", KEAP) == "http://127.0.0.1:8101/crm"
    assert outbound.check_url("http://localhost:8101/crm", KEAP)
    for url in ("http://10.0.0.5/crm", "https://169.254.169.254/", "http://api.infusionsoft.com/crm",
                "http://2130706433/crm"):
        with pytest.raises(outbound.OutboundRefused):
            outbound.check_url(url, KEAP)


def test_every_address_of_a_name_must_be_public(production, monkeypatch):
    """One internal answer among public ones is a rebinding attempt: refused."""
    outbound.forget_resolved()
    monkeypatch.setattr(outbound, "resolver", lambda host, port: ["93.184.215.14", "10.0.0.5"])
    with pytest.raises(outbound.OutboundRefused, match="resolves to a private address"):
        outbound.safe_address("acme.my.salesforce.com", 443)
    monkeypatch.setattr(outbound, "resolver", lambda host, port: ["93.184.215.14"])
    assert outbound.safe_address("acme.my.salesforce.com", 443) == "93.184.215.14"
    outbound.forget_resolved()


def test_production_settings_turn_insecure_urls_off_and_refuse_to_turn_them_on(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.prod", "DJANGO_SECRET_KEY": "x" * 50,
           "DJANGO_ALLOWED_HOSTS": "portal.example.com", "BOOKBRIDGE_VAR_DIR": str(tmp_path),
           "FIELD_ENCRYPTION_KEYS": "f" * 43 + "=", "BOOKBRIDGE_PUBLIC_BASE_URL": "https://portal.example.com"}
    probe = ("import django; django.setup(); from django.conf import settings; "
             "from apps.core import outbound; from apps.integrations.keap.connection import HOSTS; "
             "print(settings.ALLOW_INSECURE_CRM_URLS); "
             "outbound.check_url('http://127.0.0.1:6379/', HOSTS)")
    ran = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == "False"
    assert "OutboundRefused" in ran.stderr
    on = subprocess.run([sys.executable, "-c", "import django; django.setup()"], capture_output=True,
                        env={**env, "ALLOW_INSECURE_CRM_URLS": "1"}, text=True, timeout=60)
    assert on.returncode != 0 and "ALLOW_INSECURE_CRM_URLS is a development setting" in on.stderr
