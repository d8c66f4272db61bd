from django.db.models import QuerySet

from .models import Connector


def active_connectors(account_id: int) -> QuerySet[Connector]:
    return Connector.objects.filter(account_id=account_id, is_active=True).order_by("pk")
