from django.apps import AppConfig


class SalesforceConfig(AppConfig):
    name = "apps.integrations.salesforce"
    label = "salesforce"
    verbose_name = "Salesforce connector"

    def ready(self) -> None:
        from . import integration  # noqa: F401  (registers the "salesforce" connector kind)
