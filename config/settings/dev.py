"""Local development: DEBUG on, embedded defaults, mail printed to the console."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

WHITENOISE_USE_FINDERS = True  # serve static files straight from the apps, no collectstatic
# The local CRM sandboxes speak plain http on loopback (base.py decided before DEBUG was on here).
ALLOW_INSECURE_CRM_URLS = env.bool("ALLOW_INSECURE_CRM_URLS", default=True)
