"""Start-up data: owners, property definitions and groups, a contact and a company."""

from __future__ import annotations

from sandbox.common.store import Store
from sandbox.hubspot.metadata import OWNERS
from sandbox.hubspot.schema import GROUPS, PROPERTIES, seed_groups, seed_properties

SEEDED_AT = "2026-01-01T00:00:00.000Z"
OWNER_ROWS = (
    ("6166860", 1296619, "integration@bookbridge.sandbox", "Iris", "Integration", False),
    ("6166861", 1296620, "ada.host@bookbridge.sandbox", "Ada", "Host", False),
    ("6166862", 1296621, "sam.sales@bookbridge.sandbox", "Sam", "Sales", False),
    ("6166863", 1296622, "former.user@bookbridge.sandbox", "Former", "User", True),
)


def seed(store: Store) -> None:
    for prop in seed_properties():
        store.put(PROPERTIES, prop["id"], prop)
    for group in seed_groups():
        store.put(GROUPS, group["id"], group)
    for owner_id, user_id, email, first, last, archived in OWNER_ROWS:
        store.put(
            OWNERS,
            owner_id,
            {
                "id": owner_id,
                "userId": user_id,
                "userIdIncludingInactive": user_id,
                "email": email,
                "firstName": first,
                "lastName": last,
                "type": "PERSON",
                "archived": archived,
                "teams": [{"id": "101", "name": "Sales", "primary": True}],
                "createdAt": SEEDED_AT,
                "updatedAt": SEEDED_AT,
            },
        )
    store.put(
        "contacts",
        "51",
        {
            "id": "51",
            "createdAt": SEEDED_AT,
            "updatedAt": SEEDED_AT,
            "archived": False,
            "indexedAt": 0,
            "properties": {
                "email": "jane@example.com",
                "firstname": "Jane",
                "lastname": "Doe",
                "hs_object_id": "51",
                "createdate": SEEDED_AT,
                "lastmodifieddate": SEEDED_AT,
            },
        },
    )
    store.put(
        "companies",
        "9001",
        {
            "id": "9001",
            "createdAt": SEEDED_AT,
            "updatedAt": SEEDED_AT,
            "archived": False,
            "indexedAt": 0,
            "properties": {
                "name": "Example Inc",
                "domain": "example.com",
                "hs_object_id": "9001",
                "createdate": SEEDED_AT,
                "hs_lastmodifieddate": SEEDED_AT,
            },
        },
    )
