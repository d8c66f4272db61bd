"""The API versions the sandbox org offers, and what it answers for the others.

Salesforce ships three releases a year, each with a new API version: Spring, Summer and Winter,
Winter being named after the following year (Winter '24 = 59.0, released in autumn 2023), so
31.0 is Summer '14 and 68.0 is Winter '27. ``GET /services/data/`` lists every supported version
(``[{"label", "url", "version"}]``, unauthenticated, without ``Sforce-Limit-Info``).

Which versions exist (Salesforce's end-of-life pages: "SOAP API End-of-Life Policy",
developer.salesforce.com/docs/atlas.en-us.api.meta/api/api_eol_soap.htm, and help article
000354473 "Salesforce Platform API Versions 21.0 through 30.0 Retirement"):

* 31.0 up to the current version: supported;
* 7.0–30.0: retired and unavailable — REST answers ``410 GONE``, SOAP
  ``500 UNSUPPORTED_API_VERSION``;
* anything else (a future or malformed version): not a resource — REST ``404 NOT_FOUND``.

SOAP ``login()`` is not available from API 65.0 on (help article 005132110 "Platform SOAP API
login() Retirement"); see ``sandbox.salesforce.auth``.
"""

from __future__ import annotations

OLDEST = 31
CURRENT = 68
CURRENT_API_VERSION = f"{CURRENT}.0"
VERSIONS = [f"{number}.0" for number in range(OLDEST, CURRENT + 1)]
RETIRED = frozenset(f"{number}.0" for number in range(7, OLDEST))
#: The first API version without the SOAP ``login()`` call.
NO_SOAP_LOGIN_FROM = 65
SEASONS = ("Winter", "Spring", "Summer")


def version_label(version: str) -> str:
    """Salesforce's release name of an API version: ``"62.0"`` → ``"Winter '25"``."""
    number = int(float(version))
    return f"{SEASONS[(number - 59) % 3]} '{24 + (number - 59) // 3:02d}"


def listing() -> list[dict[str, str]]:
    """The body of ``GET /services/data/``, oldest first as Salesforce lists them."""
    return [{"label": version_label(v), "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]


def number(version: str) -> float | None:
    """The version as a number, or None when it is not ``NN.N``."""
    major, dot, minor = version.partition(".")
    if not (dot and major.isascii() and major.isdigit() and minor.isascii() and minor.isdigit()):
        return None
    return float(version)
