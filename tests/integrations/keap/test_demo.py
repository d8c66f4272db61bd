import pytest

from apps.connectors.wizard import done_steps
from apps.demo.samples import BookingStory
from apps.integrations.keap.demo import connect_demo_keap
from apps.sync.models import JobStatus

from .helpers import by_email, deliver

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_connector_syncs_with_defaults(account, keap):
    connector = connect_demo_keap(account=account, sandbox_url=keap.url)
    assert len(done_steps(connector)) == 5
    [job] = deliver(
        account, BookingStory(email="demo@customer.com", owner_email="sam@example.com").scheduled()
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert by_email(keap, "demo@customer.com")[0]["owner_id"] == 3
