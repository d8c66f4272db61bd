"""The dashboard in admin: charts, failure reasons, connector health; JSON refresh; isolation."""

from __future__ import annotations

import pytest
from django.templatetags.static import static
from django.urls import reverse

from apps.sync.models import JobStatus

pytestmark = pytest.mark.django_db


def test_dashboard_renders_charts_reasons_and_health(client, world):
    client.force_login(world["staff_a"])
    response = client.get(reverse("admin:console-dashboard"))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.count('<svg xmlns="http://www.w3.org/2000/svg" class="bb-chart"') == 2
    assert 'data-status="failed"' in content and 'data-status="succeeded"' not in content
    assert "DUPLICATE_ALPHA" in content and "DUPLICATE_BETA" not in content
    assert "alpha log" in content and "beta log" not in content
    assert "error_code=DUPLICATE_ALPHA" in content  # links to the filtered job list
    # It refreshes itself from the JSON view, with a script file (no inline script: SPEC §13).
    assert f'data-url="{reverse("admin:console-dashboard-data")}' in content
    script = static("bookbridge/dashboard.js")
    assert f'<script src="{script}" defer>' in content
    assert "fetch(" in b"".join(client.get(script).streaming_content).decode()
    assert "cdn" not in content.lower()


def test_dashboard_data_is_json_scoped_to_the_user(client, world):
    client.force_login(world["staff_b"])
    data = client.get(reverse("admin:console-dashboard-data")).json()
    assert [c["name"] for c in data["connectors"]] == ["beta log"]
    assert [r["error_code"] for r in data["failure_reasons"]] == ["DUPLICATE_BETA"]
    failed = next(s for s in data["per_hour_24h"]["series"] if s["status"] == JobStatus.FAILED)
    assert sum(failed["counts"]) == 1 and len(failed["counts"]) == 24
    assert len(data["per_hour_7d"]["hours"]) == 168
    assert "beta log" in data["html"] and "alpha" not in data["html"]
    health = data["connectors"][0]
    assert health["state"] == "connected" and health["api_usage"] == "—"


def test_dashboard_refuses_another_accounts_view(client, world):
    client.force_login(world["staff_b"])
    url = reverse("admin:console-dashboard-data")
    assert client.get(url, {"account": world["alpha"]["account"].pk}).status_code == 403
    assert client.get(url, {"account": world["beta"]["account"].pk}).status_code == 200


def test_dashboard_needs_a_staff_login(client, world):
    response = client.get(reverse("admin:console-dashboard"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_health_shows_paused_and_backlog(client, world):
    from apps.connectors.models import Connector
    from apps.sync.models import SyncJob

    connector = world["alpha"]["connector"]
    Connector.objects.filter(pk=connector.pk).update(is_paused=True)
    SyncJob.objects.filter(pk=world["alpha"]["job"].pk).update(status=JobStatus.PENDING)
    client.force_login(world["admin_a"])
    data = client.get(reverse("admin:console-dashboard-data")).json()
    health = data["connectors"][0]
    assert health["state"] == "paused" and health["backlog"] == 1


def test_api_usage_shows_limits_learned_from_quota_headers(client, world):
    from apps.sync import ratelimit

    connector = world["alpha"]["connector"]
    limiter = ratelimit.RateLimiter(connector)
    limiter.observe_quota({"x-keap-product-quota-limit": "150000", "x-keap-product-quota-time-unit": "day",
                           "x-keap-product-quota-interval": "1", "x-keap-product-quota-available": "149000"})
    try:
        client.force_login(world["staff_a"])
        data = client.get(reverse("admin:console-dashboard-data")).json()
        assert data["connectors"][0]["api_usage"] == "limits from quota headers: 150000/day"
        assert data["connectors"][0]["calls_last_hour"] == 2
    finally:
        limiter.reset()


def test_api_usage_from_an_integrations_usage_fields(client, world):
    """Salesforce stores ``Sforce-Limit-Info`` on its connection row; the console finds it."""
    from apps.integrations.salesforce.models import SalesforceConnection

    connector = world["alpha"]["connector"]
    SalesforceConnection.objects.create(connector=connector, api_usage_used=1234, api_usage_max=100000)
    client.force_login(world["staff_a"])
    data = client.get(reverse("admin:console-dashboard-data")).json()
    assert data["connectors"][0]["api_usage"] == "1,234 / 100,000"
