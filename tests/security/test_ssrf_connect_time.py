"""SSRF at connection time: names that resolve inside, redirects, and what an attacker learns.

The form-time checks (test_ssrf_forms.py) stop what an administrator types; these stop what a
stored URL does when the sync engine or the wizard connects: a CRM host name whose DNS answer
points inside (rebinding), a CRM host that redirects inside, and the difference between an open
and a closed internal port. Nothing may reach the internal service, and the messages must not
tell the ports apart.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.connectors.errors import PermanentCrmError
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.keap import connection as keap_connection
from apps.integrations.keap import services as keap_services
from apps.integrations.keap.client import KeapClient
from apps.integrations.salesforce.client import SalesforceClient
from apps.integrations.salesforce.models import SalesforceConnection
from apps.sync.models import CrmCall
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.fixtures.recorders import ListRecorder

pytestmark = pytest.mark.django_db


def keap_connector(account, base: str, *, token_url: str = "", key: str = "stored-key") -> Connector:
    connector = Connector(account=account, kind="keap", name="Keap", status=ConnectorStatus.CONNECTED)
    connector.credentials = {"service_account_key": key}
    connector.save()
    keap_services.save_connection(connector=connector, auth_method=keap_connection.SERVICE_KEY,
                                  api_base=f"{base}/crm", token_url=token_url or f"{base}/token",
                                  authorize_url=f"{base}/app/oauth/authorize")
    return connector


def test_a_keap_name_resolving_to_loopback_is_refused_before_connecting(production, dns, internal_service):
    dns["api.infusionsoft.com"] = "127.0.0.1"
    connector = keap_connector(AccountFactory(), f"https://api.infusionsoft.com:{internal_service.port}")
    with pytest.raises(PermanentCrmError) as refused:
        KeapClient(connector).get("/contacts")
    assert "resolves to a loopback address" in refused.value.message
    assert refused.value.code == "address_refused"
    assert internal_service.received == []


@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.5", "::1", "fd00::5", "100.64.0.1"])
def test_every_internal_answer_is_refused_for_the_sync_engine(production, dns, address):
    dns["acme.my.salesforce.com"] = address
    account = AccountFactory()
    connector = Connector.objects.create(account=account, kind="salesforce", name="SF",
                                         credentials={"access_token": "t"})
    SalesforceConnection.objects.create(connector=connector, environment="custom",
                                        custom_login_url="https://acme.my.salesforce.com",
                                        instance_url="https://acme.my.salesforce.com")
    recorder = ListRecorder()
    calls = recorder.calls
    client = SalesforceClient(connector, recorder=recorder)
    with pytest.raises(PermanentCrmError) as refused:
        client.describe("Lead")
    assert "Bookbridge does not connect to acme.my.salesforce.com" in refused.value.message
    assert calls and calls[0]["crm_error_code"] == "address_refused" and calls[0]["response_body"] is None


def test_open_and_closed_internal_ports_answer_alike(production, dns, client, internal_service):
    """The connect form's error is the same sentence whether something listens or not."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once the socket is closed
    dns["api.infusionsoft.com"] = "127.0.0.1"
    account = AccountFactory()
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role="admin")
    client.force_login(admin)
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    url = reverse("keap:connect", args=[account.slug, connector.pk])
    pages = []
    for port in (internal_service.port, closed):
        base = f"https://api.infusionsoft.com:{port}"
        page = client.post(url, {"auth_method": "service_key", "service_account_key": "k",
                                 "api_base": f"{base}/crm", "token_url": f"{base}/token",
                                 "authorize_url": f"{base}/app/oauth/authorize"})
        assert page.status_code == 200
        assert "secret-internal-data" not in page.content.decode()
        pages.append(page.context["form"].errors.get_json_data())
    assert "resolves to a loopback address" in str(pages[0])
    assert pages[0] == pages[1]
    assert internal_service.received == []


def test_a_keap_redirect_is_not_followed_and_the_key_goes_nowhere(settings, internal_service,
                                                                   second_internal_service):
    """Development settings (loopback allowed), so the redirect is what is tested."""
    settings.ALLOW_INSECURE_CRM_URLS = True
    internal_service.redirect_to(f"{second_internal_service.url}/latest/meta-data/")
    connector = keap_connector(AccountFactory(), internal_service.url, key="the-stored-key")
    with pytest.raises(PermanentCrmError) as refused:
        KeapClient(connector).get("/contacts")
    assert "answered with a redirect" in refused.value.message and "does not follow" in refused.value.message
    assert len(internal_service.received) == 1
    assert second_internal_service.received == []


def test_a_salesforce_token_redirect_to_internal_is_not_followed(settings, internal_service,
                                                                 second_internal_service):
    """An https login host that answers 302 to http://127.0.0.1 defeated the https-only rule."""
    settings.ALLOW_INSECURE_CRM_URLS = True
    internal_service.redirect_to(f"{second_internal_service.url}/steal", status=307)
    account = AccountFactory()
    connector = Connector.objects.create(account=account, kind="salesforce", name="SF",
                                         credentials={"refresh_token": "the-refresh-token",
                                                      "client_secret": "the-client-secret"})
    SalesforceConnection.objects.create(connector=connector, auth_method="oauth", environment="custom",
                                        custom_login_url=internal_service.url, client_id="key")
    with pytest.raises(PermanentCrmError) as refused:
        SalesforceClient(connector).login()
    assert "does not follow redirects" in refused.value.message
    assert second_internal_service.received == []
    assert "the-refresh-token" not in second_internal_service.all_text()


def test_a_stored_internal_url_fails_the_sync_visibly_without_a_request(production, internal_service):
    """A row saved before the policy (or by hand) is refused when used, and the job says why."""
    from apps.demo.samples import BookingStory
    from tests.integrations.keap.helpers import deliver

    account = AccountFactory()
    keap_connector(account, internal_service.url)
    [job] = deliver(account, BookingStory(email="a@customer.test", name="A B").scheduled())
    job.refresh_from_db()
    assert job.status == "failed"
    assert "must start with https://" in job.error
    assert internal_service.received == []
    assert not CrmCall.objects.filter(response_body__icontains="secret-internal-data").exists()
