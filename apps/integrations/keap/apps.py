from django.apps import AppConfig


class KeapConfig(AppConfig):
    name = "apps.integrations.keap"
    label = "keap"
    verbose_name = "Keap connector"
