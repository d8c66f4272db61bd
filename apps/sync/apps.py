from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "apps.sync"
    label = "sync"
    verbose_name = "Sync log"

    def ready(self) -> None:
        # Imported once the app registry is ready (models load through these modules). The
        # wizard, a lower layer, sends test bookings through this runner.
        from apps.connectors import test_bookings as hook

        from . import test_bookings

        hook.register(test_bookings.RUNNER)
