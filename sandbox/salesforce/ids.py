"""Salesforce record ids: 15-character case-sensitive ids and their 18-character forms.

The connector stores ids it gets back and sends them again (as ``WhoId``, in SOQL, in URLs), so
the sandbox must mint ids that look and behave like real ones: a 3-character key prefix per
object, base-62 body, and the 3-character case-safe checksum suffix that real orgs append. Both
the 15- and the 18-character form of an id are accepted wherever Salesforce accepts them.
"""

from __future__ import annotations

import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
POD = "5g0"  # instance + reserved characters, as in ids of a real "5g" pod
ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Za-z0-5]{3})?$")

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Case": "500",
    "Event": "00U",
    "User": "005",
    "Organization": "00D",
    "Group": "00G",
}


def checksum(id15: str) -> str:
    """The 3-character suffix that makes an id unique case-insensitively."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += CHECKSUM_ALPHABET[bits]
    return suffix


def make_id(prefix: str, number: int) -> str:
    """An 18-character id for the ``number``-th record with key prefix ``prefix``."""
    body = ""
    while number:
        number, digit = divmod(number, 62)
        body = BASE62[digit] + body
    id15 = prefix + POD + body.rjust(9, "0")
    return id15 + checksum(id15)


def normalize(value: str) -> str | None:
    """The 18-character form of ``value``, or None when it is not a well-formed id."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        return None
    id15 = value[:15]
    full = id15 + checksum(id15)
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def object_for(record_id: str) -> str | None:
    """The object name whose key prefix starts ``record_id``."""
    for name, prefix in KEY_PREFIXES.items():
        if record_id.startswith(prefix):
            return name
    return None
