"""How the Salesforce connector gets its access token: the flows a current org offers (SPEC §6 Step 1).

* **Client credentials** (server-to-server; the recommended one): ``grant_type=client_credentials``
  with the External Client App's (or connected app's) consumer key and secret, posted to the
  org's **My Domain** token endpoint — Salesforce refuses it at login.salesforce.com and
  test.salesforce.com ("request not supported on this domain"). The token runs as the app's
  designated run-as user. There is no refresh token: a new token is asked for the same way.
* **JWT bearer**: an RS256 assertion signed with the private key of the certificate uploaded to
  the app (``iss`` the consumer key, ``sub`` the integration user's username, ``aud``
  https://login.salesforce.com or, for a sandbox org, https://test.salesforce.com, ``exp`` at
  most 3 minutes ahead), signed with PyJWT. No refresh token either: a new assertion each time.
* **Web server flow with PKCE**: the administrator signs in as the integration user in the
  browser; ``code_challenge`` (S256) on the authorize URL, ``code_verifier`` on the code
  exchange; the refresh token is stored encrypted and rotated tokens are kept.
* **Username + password + security token** (legacy, SOAP ``login()``): retired by Salesforce in
  Summer '27 and absent from API 65.0 on (``LEGACY_LOGIN_LAST_VERSION``); never the default.

Sources: Salesforce Help, "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration",
"OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration", "OAuth 2.0 Web Server Flow for Web
App Integration"; the SOAP API end-of-life note; ``sandbox/salesforce/auth.py`` implements the
same rules for tests.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Salesforce accepts an assertion whose ``exp`` is at most 3 minutes ahead.
ASSERTION_LIFETIME_SECONDS = 170
PRODUCTION_AUDIENCE = "https://login.salesforce.com"
SANDBOX_AUDIENCE = "https://test.salesforce.com"
#: SOAP ``login()`` is not available from API 65.0 on.
LEGACY_LOGIN_LAST_VERSION = 64.0
LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) for one authorization (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_login_host(login_url: str) -> bool:
    return (urlsplit(login_url).hostname or "") in LOGIN_HOSTS


def is_sandbox_org(environment: str, login_url: str) -> bool:
    host = urlsplit(login_url).hostname or ""
    return environment == "sandbox" or host == "test.salesforce.com" or host.endswith(
        ".sandbox.my.salesforce.com")


def audience(environment: str, login_url: str) -> str:
    """The JWT ``aud``: where the org logs in (production or sandbox), whatever host is asked."""
    return SANDBOX_AUDIENCE if is_sandbox_org(environment, login_url) else PRODUCTION_AUDIENCE


class PrivateKeyError(ValueError):
    """The pasted private key cannot sign assertions (a sentence for the administrator)."""


def load_private_key(pem: str) -> RSAPrivateKey:
    """The RSA private key of a PEM text (PKCS#1 or PKCS#8, unencrypted)."""
    text = (pem or "").strip()
    if "PRIVATE KEY-----" not in text:
        raise PrivateKeyError("Paste the certificate's private key: the text from "
                              "-----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----.")
    if "ENCRYPTED" in text:
        raise PrivateKeyError("This private key is protected by a passphrase; paste it without one "
                              "(for example: openssl rsa -in key.pem -out plain.pem).")
    try:
        key = load_pem_private_key(text.encode("ascii", "replace"), password=None)
    except (ValueError, TypeError):
        raise PrivateKeyError("This is not a readable private key in PEM format.") from None
    if not isinstance(key, RSAPrivateKey):
        raise PrivateKeyError("Salesforce signs JWT bearer assertions with RS256: the key must be an "
                              "RSA key.")
    return key


def jwt_assertion(*, client_id: str, username: str, audience_url: str, private_key: str,
                  now: float | None = None) -> str:
    issued = time.time() if now is None else now
    claims = {"iss": client_id, "sub": username, "aud": audience_url,
              "exp": int(issued) + ASSERTION_LIFETIME_SECONDS}
    return jwt.encode(claims, load_private_key(private_key), algorithm="RS256")


def newest_version(versions: list[dict] | object) -> str | None:
    """The highest ``version`` of ``GET /services/data/``'s answer, or None."""
    found = []
    for entry in versions if isinstance(versions, list) else []:
        value = entry.get("version") if isinstance(entry, dict) else None
        try:
            found.append((float(value), value))
        except (TypeError, ValueError):
            continue
    return max(found)[1] if found else None


def offered(versions: list[dict] | object, version: str) -> bool:
    return any(isinstance(e, dict) and e.get("version") == version
               for e in (versions if isinstance(versions, list) else []))
