import pytest
from django.core.cache import cache

from apps.directory.models import BookingPage, SchedulingUser
from tests.factories import AccountFactory

from .helpers import make_connector


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
        first_name="Ada",
        last_name="Host",
        email="ada.host@bookbridge.sandbox",
    )
    BookingPage.objects.create(account=account, external_id="BP-DEMO000001", label="Ada Host", owner=owner)
    return account


@pytest.fixture
def connector(account, hubspot):
    return make_connector(account, hubspot.url)
