"""The baseline task of the benchmark: does nothing but count itself (one Redis/cache INCR)."""

from celery import shared_task
from django.core.cache import cache

COUNTER = "bookbridge:bench:noop"


@shared_task(name="bookbridge.bench.noop", acks_late=True)
def noop() -> None:
    try:
        cache.incr(COUNTER)
    except ValueError:
        cache.add(COUNTER, 0, timeout=None)
        cache.incr(COUNTER)
