from django.apps import AppConfig


class HubSpotConfig(AppConfig):
    name = "apps.integrations.hubspot"
    label = "hubspot"
    verbose_name = "HubSpot connector"

    def ready(self) -> None:
        from . import integration  # noqa: F401  (registers the "hubspot" connector kind)
