from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "apps.intake"
    label = "intake"
    verbose_name = "Booking intake"

    def ready(self) -> None:
        # Imported once the app registry is ready (models load through these modules).
        from apps.core.views import register_check

        from .selectors import quarantine_health

        register_check("quarantine", quarantine_health)
