"""HubSpot's hosts and the API paths of each API version (../shared/reference/hubspot-api.md §12).

Read by the client and the connection alike (``connection`` re-exports both names): apart, so
that the connection's check can use the client without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.core.outbound import HostFamily

from .models import ApiVersion, HubSpotConnection

#: Where HubSpot is reached (reference §2, §12): the API host and its regional twins, the app
#: (sign-in, record pages) hosts. Operators extend it with ``OUTBOUND_EXTRA_ALLOWED_HOSTS["hubspot"]``.
HOSTS = HostFamily("hubspot", "HubSpot", (
    "api.hubapi.com", "*.hubapi.com", "app.hubspot.com", "*.hubspot.com", "api.hubspot.com"))


@dataclass(frozen=True)
class Paths:
    """The path prefixes of one API version (reference §12): ``2026-03`` puts the version after
    the API's name (``/crm/objects/2026-03/contacts``), ``v3`` before it (``/crm/v3/objects/…``,
    ``/crm/v4/…`` for associations)."""

    version: str

    @property
    def dated(self) -> bool:
        return self.version != ApiVersion.V3

    def objects(self, object_type: str) -> str:
        if self.dated:
            return f"/crm/objects/{self.version}/{object_type}"
        return f"/crm/v3/objects/{object_type}"

    def associations(self, from_type: str, from_id: str, to_type: str, to_id: str) -> str:
        """The default (unlabelled) association of two records (v4 ``PUT …/associations/default``)."""
        base = f"/crm/objects/{self.version}" if self.dated else "/crm/v4/objects"
        return f"{base}/{from_type}/{from_id}/associations/default/{to_type}/{to_id}"

    @property
    def owners(self) -> str:
        return f"/crm/owners/{self.version}" if self.dated else "/crm/v3/owners"

    def properties(self, object_type: str) -> str:
        if self.dated:
            return f"/crm/properties/{self.version}/{object_type}"
        return f"/crm/v3/properties/{object_type}"

    @property
    def token(self) -> str:
        return f"/oauth/{self.version}/token" if self.dated else "/oauth/v3/token"

    @property
    def introspect(self) -> str:
        return f"{self.token}/introspect"


def paths(row: HubSpotConnection) -> Paths:
    """The path prefixes built from ``row.api_version`` ("2026-03" → ``/crm/objects/2026-03/…``,
    "v3" → ``/crm/v3/objects/…``)."""
    return Paths(row.api_version or ApiVersion.DATED_2026_03)
