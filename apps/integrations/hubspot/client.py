"""The HubSpot API client: the CRM objects, owners, properties and associations a booking needs.

* Every exchange goes through ``Transport.send`` (timeouts, outbound policy, rate limit, the
  one recorder hook); paths are built from the connection's API version (``endpoints.Paths``).
* Auth (reference §2): a Bearer token — the OAuth access token, renewed a little before its
  stored expiry and once on a 401, or the static token. A 401 that survives is an
  ``AuthCrmError`` (the engine disconnects the connector and tells the administrators).
* Typed errors through ``errors.classify``: 429 → ``WaitCrmError`` with the policy's delay,
  423/477/5xx → transient, the rest permanent with HubSpot's own message.
* A contact create that meets an existing email answers 409 "Contact already exists. Existing
  ID: <id>" (reference §4): ``create_contact`` answers that id instead of failing.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from apps.connectors.contract import SyncContext
from apps.connectors.errors import PermanentCrmError

from . import oauth
from .errors import CATALOGUE, classify_response
from .models import AuthMethod, HubSpotConnection
from .transport import Transport

#: ``context.scratch`` key (``apps.connectors.contract``): the job's client — plan and apply
#: share its session and tokens.
CLIENT = "hubspot.client"
EXISTING_ID = re.compile(r"Existing ID: (\d+)")
#: HubSpot-defined association type ids (reference §7).
MEETING_TO_CONTACT = 200
MEETING_TO_COMPANY = 188
CONTACT_TO_COMPANY = 279
#: The owners list's page size (reference §8.1: default and maximum 100).
OWNERS_PAGE = 100


def association(to_id: str, type_id: int) -> dict[str, Any]:
    """One inline association of a create body (reference §3 ``PublicAssociationsForObject``)."""
    return {"to": {"id": str(to_id)},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


def client_for(context: SyncContext, *, connection: HubSpotConnection | None = None) -> HubSpotClient:
    """The job's client, made once (plan and apply share its session and tokens)."""
    client = context.scratch.get(CLIENT)
    if client is None:
        client = context.scratch[CLIENT] = HubSpotClient.for_context(context, connection=connection)
    return client


class HubSpotClient(Transport):
    """One connector's HubSpot API (``Transport`` sends; this class signs the requests in)."""

    @classmethod
    def for_context(cls, context: SyncContext, *,
                    connection: HubSpotConnection | None = None) -> HubSpotClient:
        return cls(context.connector, recorder=context.recorder, preview=context.preview,
                   connection=connection)

    # ---------------------------------------------------------------- auth
    @property
    def static(self) -> bool:
        return self.connection.auth_method == AuthMethod.STATIC_TOKEN

    def _token(self) -> str:
        creds = self.connector.credentials or {}
        if self.static:
            if not creds.get("static_token"):
                raise CATALOGUE.error("no_static_token")
            return creds["static_token"]
        if oauth.expiring(self.connector):
            oauth.refresh(self.connector, stale_access_token=creds.get("access_token", ""), transport=self)
        return (self.connector.credentials or {}).get("access_token", "")

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        """One API call, signed; the JSON answer (None for an empty one). A 401 renews the
        OAuth token once and resends."""
        response = self._signed(method, path, params=params, json=json)
        if response.status_code == 401 and not self.static:
            stale = (self.connector.credentials or {}).get("access_token", "")
            oauth.refresh(self.connector, stale_access_token=stale, transport=self)
            response = self._signed(method, path, params=params, json=json)
        if response.status_code >= 400:
            raise classify_response(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise CATALOGUE.error("bad_response", status=response.status_code,
                                  said=f"a body that is not JSON for {method} {path}") from exc

    def _signed(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self._token()}"}
        return self.send(method, path, headers=headers, **kwargs)

    def token_info(self) -> dict[str, Any]:
        """What HubSpot says of the OAuth token (``hub_id``, ``scopes``: the introspection of
        reference §2.1); a static token is proven by one owners read and answers {}."""
        if self.static:
            self.request("GET", self.paths.owners, params={"limit": 1})
            return {}
        token = self._token()
        form = {"token": token, "token_type_hint": "access_token", "client_id": self.connection.client_id,
                "client_secret": (self.connector.credentials or {}).get("client_secret", "")}
        response = self.send("POST", self.paths.introspect, data=form, log_body=form,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        if response.status_code >= 400:
            raise classify_response(response)
        body = response.json()
        if not body.get("active"):
            raise CATALOGUE.error("INVALID_AUTHENTICATION", said="the access token is not active")
        return body

    # ---------------------------------------------------------------- objects
    def get(self, object_type: str, record_id: str, *, properties: list[str] | None = None,
            id_property: str = "") -> dict[str, Any] | None:
        """A record by id (or by ``id_property``'s value, e.g. an email); None when absent."""
        params: dict[str, Any] = {"properties": ",".join(properties)} if properties else {}
        if id_property:
            params["idProperty"] = id_property
        try:
            return self.request("GET", f"{self.paths.objects(object_type)}/{record_id}", params=params)
        except PermanentCrmError as exc:
            if exc.status != 404:
                raise
            return None

    def create(self, object_type: str, properties: dict[str, str],
               associations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"properties": properties}
        if associations:
            body["associations"] = associations
        return self.request("POST", self.paths.objects(object_type), json=body)

    def patch(self, object_type: str, record_id: str, properties: dict[str, str]) -> dict[str, Any]:
        return self.request("PATCH", f"{self.paths.objects(object_type)}/{record_id}",
                            json={"properties": properties})

    def search(self, object_type: str, filters: list[dict[str, str]], *,
               properties: list[str] | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """The records matching every filter (one filter group, reference §3)."""
        body = {"filterGroups": [{"filters": filters}], "properties": properties or [],
                "sorts": ["hs_object_id"], "limit": limit}
        return (self.request("POST", f"{self.paths.objects(object_type)}/search", json=body) or {}).get(
            "results") or []

    def create_contact(self, properties: dict[str, str],
                       associations: list[dict[str, Any]] | None = None) -> tuple[str, bool]:
        """(contact id, created): a 409 for an existing email answers that contact's id."""
        try:
            return str(self.create("contacts", properties, associations)["id"]), True
        except PermanentCrmError as exc:
            found = EXISTING_ID.search(exc.details) if exc.status == 409 else None
            if found is None:
                raise
            return found[1], False

    def upsert_contact(self, email: str, properties: dict[str, str]) -> tuple[str, bool]:
        """(contact id, created) of a ``batch/upsert`` by email (reference §4: one call whether or
        not the contact exists)."""
        body = {"inputs": [{"idProperty": "email", "id": email, "properties": properties}]}
        answer = self.request("POST", f"{self.paths.objects('contacts')}/batch/upsert", json=body) or {}
        result = (answer.get("results") or [{}])[0]
        if not result.get("id"):
            raise CATALOGUE.error("bad_response", said="a batch upsert answer without the contact")
        return str(result["id"]), bool(result.get("new"))

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """The default (unlabelled) association of two existing records (v4 PUT, reference §7)."""
        self.request("PUT", self.paths.associations(from_type, from_id, to_type, to_id))

    # ---------------------------------------------------------------- metadata
    def owners(self) -> list[dict[str, Any]]:
        """Every active owner (reference §8.1), all pages."""
        found: list[dict[str, Any]] = []
        after = ""
        while True:
            params: dict[str, Any] = {"limit": OWNERS_PAGE, "archived": "false"}
            if after:
                params["after"] = after
            body = self.request("GET", self.paths.owners, params=params) or {}
            found += body.get("results") or []
            after = ((body.get("paging") or {}).get("next") or {}).get("after") or ""
            if not after:
                return found

    def properties(self, object_type: str) -> list[dict[str, Any]]:
        return (self.request("GET", self.paths.properties(object_type)) or {}).get("results") or []

    def create_property(self, object_type: str, definition: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", self.paths.properties(object_type), json=definition)

    def create_property_group(self, object_type: str, name: str, label: str) -> dict[str, Any]:
        return self.request("POST", f"{self.paths.properties(object_type)}/groups",
                            json={"name": name, "label": label})
