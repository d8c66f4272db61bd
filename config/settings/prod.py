"""Production: every secret comes from the environment, and start-up fails without one."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: refuses to start without it
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
if not ALLOWED_HOSTS or not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS and FIELD_ENCRYPTION_KEYS must not be empty.")
if "ZGV2LW9ubHktYm9va2JyaWRnZS1rZXktMDAwMDAwMDA=" in FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS still holds the development key.")

# Emails (invitations, alerts) and the webhook URLs administrators paste into OnceHub are built
# on it (apps/core/public_urls.py): a production portal states its address, over https.
PUBLIC_BASE_URL = env.str("BOOKBRIDGE_PUBLIC_BASE_URL")  # no default: refuses to start without it
if not PUBLIC_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured("BOOKBRIDGE_PUBLIC_BASE_URL must be the portal's https:// address.")
PUBLIC_BASE_URL_IS_SET = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
# Loopback http:// CRM URLs are for development and the sandboxes only.
if env.bool("ALLOW_INSECURE_CRM_URLS", default=False):
    raise ImproperlyConfigured("ALLOW_INSECURE_CRM_URLS is a development setting; production refuses it.")
ALLOW_INSECURE_CRM_URLS = False

# Behind the TLS-terminating proxy (SECURE_PROXY_SSL_HEADER above) every sign-in would come from
# the proxy's address, so django-axes would lock a username for everyone: take the client's
# address from X-Forwarded-For, trusting this many proxies in front of the portal.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=1)
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
