from django.apps import AppConfig


class KeapConfig(AppConfig):
    name = "apps.integrations.keap"
    label = "keap"
    verbose_name = "Keap connector"

    def ready(self) -> None:
        from . import integration  # noqa: F401  (registers the "keap" connector kind)
