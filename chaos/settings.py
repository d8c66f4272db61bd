"""Settings of the harness's and the benchmark's private stacks: the dev settings with DEBUG off
(no query log growing in long-running workers) and plain-http CRM URLs allowed (the sandboxes)."""

from config.settings.dev import *  # noqa: F403

DEBUG = False
ALLOW_INSECURE_CRM_URLS = True
