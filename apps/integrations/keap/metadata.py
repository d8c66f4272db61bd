"""What is read from Keap and cached: users, app picklists, custom fields (shared cache), and the
ids of tags, categories, lead sources and companies (``CrmCacheEntry`` rows).

The first three are kept ``METADATA_TTL`` seconds in the cache every worker shares (a staged
connector, ``apps.connectors.staging``, keeps what it read to itself); ``forget`` drops them
(``CrmIntegration.refresh_metadata``). The ids are found or created by the applier's resolver
and never looked up again; ``cache_entries`` reads the ones a booking may use in one query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.connectors import staging
from apps.connectors.models import Connector

from .client import KeapClient
from .models import CACHE_KINDS, CrmCacheEntry

METADATA_TTL = 3600
#: ``context.scratch`` key (``apps.connectors.contract``): the ids the plan read from
#: ``cache_entries``; the applier's resolver starts from them.
CACHED_IDS = "keap.cached_ids"
_NAMES = ("users", "config", "custom_fields")


def _key(connector: Connector, name: str) -> str:
    return f"keap:{connector.pk}:{name}"


def cached(connector: Connector, name: str) -> Any:
    """What is cached under ``name`` (one of ``_NAMES``), None when nothing is."""
    return staging.cache_for(connector).get(_key(connector, name))


def _cached(connector: Connector, name: str, fetch: Callable[[], Any], ttl: int = METADATA_TTL) -> Any:
    store = staging.cache_for(connector)
    key = _key(connector, name)
    value = store.get(key)
    if value is None:
        value = fetch()
        store.set(key, value, ttl)
    return value


def forget(connector: Connector) -> None:
    """Drop what was cached of the Keap app (users, picklists, custom fields)."""
    staging.cache_for(connector).delete_many([_key(connector, n) for n in _NAMES])


def crm_users(connector: Connector, client: KeapClient | None = None) -> list[dict[str, str]]:
    """``[{"id", "email", "name"}]``: the app's users (owner mapping, the booking owner's user)."""

    def fetch() -> list[dict[str, str]]:
        body = (client or KeapClient(connector)).get("/users", params={"limit": 1000})
        return [
            {
                "id": str(u["id"]),
                "email": u.get("email_address") or "",
                "name": " ".join(p for p in (u.get("given_name"), u.get("family_name")) if p),
            }
            for u in body.get("users", [])
        ]

    return _cached(connector, "users", fetch)


def _split(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def app_configuration(connector: Connector, client: KeapClient | None = None) -> dict[str, list[str]]:
    """Picklists read live from the app: contact types and appointment action types."""

    def fetch() -> dict[str, list[str]]:
        body = (client or KeapClient(connector)).get("/setting/application/configuration")
        return {
            "contact_types": _split((body.get("contact") or {}).get("contact_types")),
            "action_types": _split((body.get("appointment") or {}).get("appointment_types")),
        }

    return _cached(connector, "config", fetch)


def custom_fields(connector: Connector, client: KeapClient | None = None) -> list[dict[str, Any]]:
    def fetch() -> list[dict[str, Any]]:
        body = (client or KeapClient(connector)).get("/contacts/model")
        return [
            {"id": f["id"], "label": f.get("label", ""), "field_type": f.get("field_type", "")}
            for f in body.get("custom_fields", [])
        ]

    return _cached(connector, "custom_fields", fetch)


def cache_entries(connector: Connector, names: set[str]) -> dict[tuple[str, str], str]:
    """{(kind, name): Keap id} of the cached names a booking may use, in one query."""
    names.discard("")
    if not names:
        return {}
    return {
        (kind, name): crm_id
        for kind, name, crm_id in CrmCacheEntry.objects.filter(
            connector=connector, kind__in=CACHE_KINDS, name__in=names
        )
        .order_by()
        .values_list("kind", "name", "crm_id")
    }


def tag_categories(client: KeapClient) -> dict[str, str]:
    """{Keap id: name} of every tag category of the app (read live, every page)."""
    found: dict[str, str] = {}
    token = ""
    while True:
        params = {"page_size": 1000, **({"page_token": token} if token else {})}
        body = client.get("/tags/categories", api="v2", params=params)
        found.update({str(c["id"]): c.get("name", "") for c in body.get("tag_categories", [])})
        token = body.get("next_page_token") or ""
        if not token:
            return found
