"""HubSpot CRM sandbox: OAuth 2.0 and static tokens, CRM v3 objects, owners, properties,
associations v4, under both the numeric (``/crm/v3``, ``/crm/v4``) and the date-versioned
(``2026-03``) paths. Facts: ``reference/hubspot-api.md``; entry point ``sandbox.hubspot.app``."""
