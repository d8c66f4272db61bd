"""Record ids checked against the org: what a required lookup of Step 3 is mapped to.

Salesforce refuses a lookup holding anything but the id of an existing record of the object
the field points to (``MALFORMED_ID`` for text, ``FIELD_INTEGRITY_EXCEPTION`` for a record of
another object, ``INVALID_CROSS_REFERENCE_KEY`` for a deleted or unknown one) — at every
booking. The wizard asks before saving: the id's key prefix (describe's ``keyPrefix``) must be
that of an object in the field's ``referenceTo``, and ``SELECT Id FROM <object> WHERE Id = …``
must find the record. Reads only; no transaction may be open (network calls).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import metadata
from .fields import soql, valid_record_id
from .models import SETUP_OBJECTS

if TYPE_CHECKING:
    from .client import SalesforceClient

OBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
class RecordIdProblem(ValueError):
    """Why a value cannot be a lookup's record id, in plain words."""


def a_or_an(word: str) -> str:
    return f"an {word}" if word[:1].upper() in "AEIOU" else f"a {word}"


def key_prefix(client: SalesforceClient, object_name: str) -> str:
    """The 3-character key prefix of ``object_name``'s ids (cached for the setup objects)."""
    if object_name in SETUP_OBJECTS:
        described = metadata.describe(client, object_name)
        if described.get("keyPrefix") is None:  # a describe cached before the prefix was kept
            described = metadata.describe(client, object_name, fresh=True)
    else:
        described = client.describe(object_name)
    return str(described.get("keyPrefix") or "")


def _object_of(client: SalesforceClient, record_id: str) -> str | None:
    """Which setup object a record id belongs to, when its describe is cached (for the message)."""
    for name, described in metadata.cached_describes(client, list(SETUP_OBJECTS)).items():
        prefix = described.get("keyPrefix")
        if prefix and record_id.startswith(prefix):
            return name
    return None


def check_lookup_id(client: SalesforceClient, field: dict[str, Any], value: str) -> str:
    """The 18-character id of an existing record ``field`` (a lookup's describe) may hold;
    ``RecordIdProblem`` otherwise. Raises ``CrmError`` when Salesforce cannot be asked."""
    label = field.get("label") or field["name"]
    targets = [t for t in field.get("referenceTo") or [] if OBJECT_NAME.match(str(t))]
    if not targets:
        raise RecordIdProblem(f"{label} points to no object Bookbridge can check.")
    shown = " or ".join(targets)
    prefixes = {target: key_prefix(client, target) for target in targets}
    example = next((p for p in prefixes.values() if p), "")
    record_id = valid_record_id(value)
    if record_id is None:
        raise RecordIdProblem(
            f"“{value[:40]}” is not a Salesforce record id: an id has 15 or 18 letters and digits"
            + (f", and {shown} ids start with {example}." if example else "."))
    target = next((t for t, prefix in prefixes.items() if prefix and record_id.startswith(prefix)), None)
    if target is None:
        other = _object_of(client, record_id)
        hint = f" ({shown} ids start with {example})" if example else ""
        if other:
            raise RecordIdProblem(f"{value} is the id of {a_or_an(other)} record; {label} needs the id "
                                  f"of {a_or_an(shown)} record{hint}.")
        raise RecordIdProblem(f"{value} is not the id of {a_or_an(shown)} record{hint}.")
    if not client.query(soql(f"SELECT Id FROM {target} WHERE Id = {{}}", record_id)):
        raise RecordIdProblem(f"Your Salesforce org has no {target} record with the id {value} (it may "
                              "have been deleted, or belong to another org).")
    return record_id
