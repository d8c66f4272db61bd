"""Settings of the harness's and the benchmark's private stacks: the dev settings with DEBUG off
(no query log growing in long-running workers) and plain-http CRM URLs allowed (the sandboxes).

``CHAOS_PLANTED_BUG=1`` adds the harness's planted bug (``chaos.poison``): processing any booking
whose id starts with ``BKNG-POISON`` raises, which makes the poison events of ``chaos/run.py``.
"""

from config.settings.dev import *  # noqa: F403
from config.settings.dev import INSTALLED_APPS, env

DEBUG = False
ALLOW_INSECURE_CRM_URLS = True

if env.bool("CHAOS_PLANTED_BUG", default=False):
    INSTALLED_APPS = [*INSTALLED_APPS, "chaos.poison"]
