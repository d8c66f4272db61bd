from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "apps.console"
    label = "console"
    verbose_name = "Operations console"

    def ready(self) -> None:
        # Imported once the app registry is ready (models load through these modules).
        from apps.connectors.signals import connector_disconnected

        from .alerts import on_connector_disconnected
        from .urls import install_admin_urls

        install_admin_urls()
        connector_disconnected.connect(on_connector_disconnected, dispatch_uid="console-alerts")
