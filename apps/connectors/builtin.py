"""The "log only" connector: records what happened without a CRM.

Administrators use it to check that webhooks arrive before connecting a CRM; the test suite and
benchmarks use it as a connector whose cost is the pipeline's alone.
"""

from __future__ import annotations

from typing import Any

from . import registry


def _plan(context) -> list[dict[str, Any]]:
    booking = context.booking
    if booking is None:
        return []
    return [
        {
            "op": "record",
            "booking_id": booking.booking_id,
            "lifecycle_action": context.event.lifecycle_action,
            "customer_email": booking.customer_email,
        }
    ]


def _describe(step: dict[str, Any]) -> str:
    who = step.get("customer_email") or "a customer without an email"
    action = step.get("lifecycle_action") or "booking event"
    return f"Record booking {step.get('booking_id', '')} ({action}) of {who} in the sync log"


def _apply(context, plan: list[dict[str, Any]]) -> dict[str, Any]:
    return {"recorded": len(plan)}


LOG_ONLY = registry.register(
    registry.SimpleKind(
        key="log_only",
        label="Log only (no CRM)",
        plan_fn=_plan,
        apply_fn=_apply,
        describe_fn=_describe,
        description="Records each booking event's plan in the sync log; writes to no CRM.",
    )
)
