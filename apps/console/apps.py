from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "apps.console"
    label = "console"
    verbose_name = "Operations console"

    def ready(self) -> None:
        # Imported once the app registry is ready (models load through these modules).
        from apps.connectors.signals import connector_disconnected, connector_reconnected

        from .alerts import on_connector_disconnected, on_connector_reconnected
        from .urls import install_admin_urls

        install_admin_urls()
        connector_disconnected.connect(on_connector_disconnected, dispatch_uid="console-alerts")
        connector_reconnected.connect(on_connector_reconnected, dispatch_uid="console-alerts-resolve")
