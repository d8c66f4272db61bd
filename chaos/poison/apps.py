"""A planted bug for the fault harness's poison events (opt-in: ``CHAOS_PLANTED_BUG=1``, see
``chaos/settings.py``).

Folding a booking whose id starts with ``BKNG-POISON`` raises, as a bug in a rule would; every
other booking is processed normally. Such a delivery is signed and well-formed, so intake
accepts it (a schema check at the boundary lets it through), and only processing fails: the
quarantine (``apps.sync.tasks.process_event``, ``apps.intake.services.record_processing_failure``)
must take it out of the way after bounded attempts while the other bookings converge. Harness
code only: the product has no such hook.
"""

from django.apps import AppConfig

POISON_PREFIX = "BKNG-POISON"


class PoisonConfig(AppConfig):
    name = "chaos.poison"
    label = "chaos_poison"

    def ready(self) -> None:
        from apps.intake import services

        real_apply_event = services.apply_event

        def apply_event(*, event):
            if event.booking_id.startswith(POISON_PREFIX):
                raise OverflowError("int too large to convert (planted by the fault harness)")
            return real_apply_event(event=event)

        services.apply_event = apply_event
