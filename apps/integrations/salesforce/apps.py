from django.apps import AppConfig


class SalesforceConfig(AppConfig):
    name = "apps.integrations.salesforce"
    label = "salesforce"
    verbose_name = "Salesforce connector"
