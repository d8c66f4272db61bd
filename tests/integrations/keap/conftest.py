import pytest
from django.core.cache import cache

from apps.directory.models import BookingPage, EventType, MasterPage, SchedulingUser
from tests.factories import AccountFactory

from .helpers import make_connector, set_step


@pytest.fixture(autouse=True)
def _synchronous_pipeline(monkeypatch):
    """These tests drive the pipeline themselves (``process_event``/``run_job``), so a Celery
    worker started by another test of the session must not run the same jobs meanwhile."""
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)
    monkeypatch.setattr("apps.sync.dispatch.queue_run", lambda *args, **kwargs: None)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def account(db):
    account = AccountFactory()
    owner = SchedulingUser.objects.create(
        account=account,
        external_id="USR-YX0J4ANZTV",
        first_name="Sam",
        last_name="Sales",
        email="sam@example.com",
    )
    BookingPage.objects.create(account=account, external_id="BP-DEMO000001", label="John Smith", owner=owner)
    MasterPage.objects.create(
        account=account, external_id="MP-GROUP00001", label="Professional Services Group"
    )
    EventType.objects.create(account=account, external_id="ET-DISCOVERY1", name="Initial Discovery Session")
    return account


@pytest.fixture
def connector(account, keap):
    return make_connector(account, keap.url)


@pytest.fixture
def appointment_tags_on(connector):
    """Appointment-specific tags are off by default; these tests are about them too."""
    from apps.integrations.keap.models import TaggingSettings

    return set_step(connector, TaggingSettings, appointment_tags=True)
