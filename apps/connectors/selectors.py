from django.db.models import QuerySet

from .models import Connector


def active_connectors(account_id: int) -> QuerySet[Connector]:
    """The connectors that sync the account's bookings: active and live (a draft syncs only
    its test bookings, ``apps.sync.test_bookings``)."""
    return Connector.objects.filter(
        account_id=account_id, is_active=True, live_since__isnull=False
    ).order_by("pk")
