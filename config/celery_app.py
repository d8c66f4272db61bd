"""The Celery application: configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("bookbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _drop_unusable_db_connections(**_kwargs) -> None:
    """What Django does around a request: drop this thread's connections if broken or past
    ``CONN_MAX_AGE``, keep them otherwise. Celery's own fixup would close them after every task
    (see ``CELERY_DB_REUSE_MAX``), which costs a new PostgreSQL backend per task."""
    from django.db import close_old_connections

    close_old_connections()
