"""Settings as code: export a connector's whole configuration, import it elsewhere, and see every
problem of a bad file with its path."""

import pytest
import yaml
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.owner_mapping import mapping_dict
from apps.connectors.settings_io import export_connector, import_connector, to_yaml
from apps.connectors.wizard import done_steps
from apps.directory.models import SchedulingUser
from apps.integrations.keap.models import (
    ClassificationSettings,
    CreationSettings,
    MappingSettings,
    TrackingSettings,
)
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import SERVICE_KEY, make_connector

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING_URL = "https://ab123.infusionsoft.app/app/webTracking/getTrackingCode?trackingId=d25b4e00&b=1.70"


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()


@pytest.fixture
def staging(keap):
    account = AccountFactory(slug="staging")
    connector = make_connector(account, keap.url, auth="service_key", name="Keap")
    creation = CreationSettings.for_connector(connector)
    creation.email_update_mode = "fill_empty"
    creation.save()
    classification = ClassificationSettings.for_connector(connector)
    classification.action_type = "Consultation"
    classification.save()
    mapping = MappingSettings.for_connector(connector)
    mapping.date_format = "dd/mm/yyyy"
    mapping.mapping = {**mapping.mapping, "booking_id": "custom:6"}
    mapping.save()
    TrackingSettings.objects.update_or_create(
        connector=connector, defaults={"enabled": True, "script_url": TRACKING_URL})
    SchedulingUser.objects.create(account=account, external_id="USR-SAM", email="sam@example.com")
    from apps.connectors.owner_mapping import auto_match

    auto_match(connector)
    return connector


def test_export_has_every_step_and_no_secret(staging):
    data = export_connector(staging)
    text = to_yaml(data)
    assert SERVICE_KEY not in text and "access_token" not in text
    assert set(data["steps"]) == {"creation", "classification", "tagging", "mapping", "tracking"}
    assert data["steps"]["creation"]["email_update_mode"] == "fill_empty"
    assert data["steps"]["mapping"]["map_booking_id"] == "custom:6"
    assert data["connection"]["auth_method"] == "service_key"
    # the tag is re-rendered from the stored URL, never pasted HTML
    assert data["steps"]["tracking"] == {
        "enabled": True,
        "snippet": f'<script type="text/javascript" src="{TRACKING_URL.replace("&", "&amp;")}"></script>',
    }
    assert data["owner_mapping"] == [
        {"scheduling_user": "USR-SAM", "email": "sam@example.com", "crm_user_id": "3"}
    ]


def test_round_trip_to_another_account(staging, keap):
    text = to_yaml(export_connector(staging))
    production = AccountFactory(slug="production")
    result = import_connector(production, text, secrets={"service_account_key": SERVICE_KEY})
    assert result.report.ok, result.report.problems
    copy = result.connector
    assert copy.status == ConnectorStatus.CONNECTED and copy.credentials["service_account_key"] == SERVICE_KEY
    assert CreationSettings.objects.get(connector=copy).email_update_mode == "fill_empty"
    assert ClassificationSettings.objects.get(connector=copy).action_type == "Consultation"
    assert MappingSettings.objects.get(connector=copy).date_format == "dd/mm/yyyy"
    assert TrackingSettings.objects.get(connector=copy).script_url == TRACKING_URL
    assert mapping_dict(copy) == {"USR-SAM": "3"}
    assert sorted(done_steps(copy)) == sorted(
        ["creation", "classification", "tagging", "mapping", "tracking"]
    )
    assert to_yaml(export_connector(copy)) == text
    # A new connector is a draft until it goes live; importing over a live one keeps it live.
    assert copy.live_since is None and Connector.objects.get(pk=copy.pk).live_since is None
    again = import_connector(staging.account, text, secrets={"service_account_key": SERVICE_KEY})
    assert again.report.ok and again.connector.pk == staging.pk
    assert Connector.objects.get(pk=staging.pk).live_since == staging.live_since is not None


def test_every_problem_is_reported_with_its_path_and_nothing_saved(staging):
    data = export_connector(staging)
    data["connection"]["api_base"] = "ftp://nope"
    data["connection"]["client_secret"] = "should-not-be-here"
    data["steps"]["creation"]["email_update_mode"] = "sometimes"
    data["steps"]["classification"]["action_type"] = "Séance"
    data["steps"]["mapping"]["map_last_name"] = "FirstName"
    data["steps"]["tracking"]["nonsense"] = 1
    data["steps"]["unknown_step"] = {}
    data["owner_mapping"].append({"scheduling_user": "USR-X", "crm_user_id": "999"})
    result = import_connector(staging.account, yaml.safe_dump(data))
    paths = {p.path for p in result.report.problems}
    assert paths >= {
        "connection.api_base",
        "connection.client_secret",
        "steps.creation.email_update_mode",
        "steps.classification.action_type",
        "steps.mapping.map_last_name",  # the field the problem is about (MappingForm.clean)
        "steps.tracking.nonsense",
        "steps.unknown_step",
        "owner_mapping[1].crm_user_id",
    }, result.report.problems
    assert CreationSettings.objects.get(connector=staging).email_update_mode == "fill_empty"


def test_a_tracking_snippet_in_a_file_goes_through_the_parser(staging):
    data = export_connector(staging)
    data["steps"]["tracking"]["snippet"] = (
        '<script src="https://evil.example?.keap.com/x.js" onerror="alert(1)"></script>')
    result = import_connector(staging.account, yaml.safe_dump(data))
    assert [p.path for p in result.report.problems] == ["steps.tracking.snippet"]
    assert "remove onerror" in result.report.problems[0].message
    assert TrackingSettings.objects.get(connector=staging).script_url == TRACKING_URL


def test_management_commands(staging, tmp_path, monkeypatch, capsys):
    target = tmp_path / "keap.yaml"
    call_command("export_connector", "staging", "Keap", "-o", str(target))
    AccountFactory(slug="prod")
    monkeypatch.setenv("KEAP_SAK", SERVICE_KEY)
    call_command("import_connector", "prod", str(target), "--secret", "service_account_key=KEAP_SAK")
    copy = Connector.objects.get(account__slug="prod", name="Keap")
    assert copy.credentials["service_account_key"] == SERVICE_KEY
    bad = tmp_path / "bad.yaml"
    bad.write_text(target.read_text().replace("fill_empty", "whenever"))
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_connector", "prod", str(bad))
    assert "steps.creation.email_update_mode" in capsys.readouterr().err


def test_admin_export_and_import(client, staging):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from apps.accounts.models import Role
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory()
    MembershipFactory(account=staging.account, user=user, role=Role.ADMINISTRATOR)
    production = AccountFactory(slug="prod-admin")
    MembershipFactory(account=production, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    changelist = reverse("admin:connectors_connectorconfiguration_changelist")
    assert "Import YAML" in client.get(changelist).content.decode()
    exported = client.post(changelist, {"action": "export_yaml", "_selected_action": [staging.pk]})
    assert exported["Content-Type"].startswith("application/yaml")
    text = exported.content.decode()
    assert "email_update_mode: fill_empty" in text and SERVICE_KEY not in text

    url = reverse("admin:connectors_import_yaml")
    bad = client.post(
        url,
        {
            "account": production.pk,
            "file": SimpleUploadedFile("k.yaml", text.replace("fill_empty", "maybe").encode()),
        },
    )
    assert "steps.creation.email_update_mode" in bad.content.decode()
    assert not Connector.objects.filter(account=production).exists()
    good = client.post(
        url,
        {
            "account": production.pk,
            "service_account_key": SERVICE_KEY,
            "file": SimpleUploadedFile("k.yaml", text.encode()),
        },
    )
    assert good.status_code == 302
    assert CreationSettings.objects.get(connector__account=production).email_update_mode == "fill_empty"


def test_the_settings_pages_and_the_wizard_link_to_each_other(client, staging):
    user = UserFactory()
    MembershipFactory(account=staging.account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    changelist = reverse("admin:connectors_connectorconfiguration_changelist")
    wizard_page = client.get(reverse("keap:wizard-step", args=[staging.account.slug, staging.pk, "creation"]))
    link = f'href="{changelist}?id__exact={staging.pk}" data-testid="settings-as-code-link"'
    assert link in wizard_page.content.decode()
    settings_page = client.get(f"{changelist}?id__exact={staging.pk}").content.decode()
    assert f'<a href="{staging.setup_url}" data-testid="setup-link">Open the set-up of {staging.name}</a>' \
        in settings_page
    assert staging.setup_url == reverse("keap:wizard", args=[staging.account.slug, staging.pk])
    import_page = client.get(reverse("admin:connectors_import_yaml")).content.decode()
    assert f'<a href="{changelist}" data-testid="configurations-link">' in import_page
    dry_run = client.post(reverse("admin:connectors_import_yaml"), {
        "account": staging.account.pk, "dry_run": "on",
        "file": SimpleUploadedFile("k.yaml", to_yaml(export_connector(staging)).encode())})
    assert f'<a href="{staging.setup_url}" data-testid="setup-link">' in dry_run.content.decode()
    UserFactory._meta.model.objects.filter(pk=user.pk).update(is_staff=False)
    assert 'data-testid="settings-as-code-link"' not in client.get(
        reverse("keap:wizard-step", args=[staging.account.slug, staging.pk, "creation"])).content.decode()
