""""Refresh CRM data" for Keap (``CrmIntegration.refresh_metadata``): drop what was read from the
app (users, picklists, custom fields in the shared cache; the saved ids of tags, categories and
lead sources), read it again and say in words what changed.

The saved ids are what made a deleted tag category fail every booking ("Tag category with id 6
was not found", ``errors.STALE_REFERENCE``): once dropped, the applier's resolver finds the
category by name again, or creates it.
"""

from __future__ import annotations

from apps.connectors.contract import MetadataRefresh, list_changes
from apps.connectors.models import Connector

from . import metadata, services
from .client import KeapClient
from .models import CrmCacheEntry


def _diff(what: str, before: list[str] | None, after: list[str]) -> list[str]:
    return list_changes(what, before, after, crm="Keap")


def refresh(connector: Connector) -> MetadataRefresh:
    old_users = metadata.cached(connector, "users")
    old_config = metadata.cached(connector, "config")
    old_fields = metadata.cached(connector, "custom_fields")
    saved_categories = dict(CrmCacheEntry.objects.filter(connector=connector, kind="tag_category")
                            .values_list("name", "crm_id"))
    metadata.forget(connector)
    client = KeapClient(connector)
    users = metadata.crm_users(connector, client)
    config = metadata.app_configuration(connector, client)
    fields = metadata.custom_fields(connector, client)
    categories = metadata.tag_categories(client)
    dropped = services.forget_saved_ids(connector=connector)

    changes = _diff("Users", _user_names(old_users), _user_names(users) or [])
    for key, what in (("contact_types", "Contact types"), ("action_types", "Appointment types")):
        changes += _diff(what, (old_config or {}).get(key) if old_config else None, config[key])
    changes += _diff("Custom fields", [f["label"] for f in old_fields] if old_fields is not None else None,
                     [f["label"] for f in fields])
    for name, crm_id in sorted(saved_categories.items()):
        if crm_id not in categories:
            changes.append(f"The tag category “{name}” no longer exists in Keap: Bookbridge creates "
                           "it again at the next booking (or choose another tag category in the "
                           "wizard's tagging step).")
    if dropped:
        changes.append(f"Saved Keap ids of tags, categories and lead sources forgotten: {dropped}. "
                       "Bookbridge finds them by name again at the next booking.")
    return MetadataRefresh(crm="Keap", changes=tuple(changes))


def _user_names(users: list[dict[str, str]] | None) -> list[str] | None:
    if users is None:
        return None
    return [u["name"] or u["email"] or u["id"] for u in users]
