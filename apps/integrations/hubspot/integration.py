"""The ``hubspot`` connector kind: this package behind the one contract
(``apps.connectors.contract``). Registered from ``HubSpotConfig.ready`` once the package's
modules exist (the connector is being built: ``docs/architecture.md`` "How to add a CRM")."""
