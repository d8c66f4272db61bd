"""A test connector kind that writes to a real external store (its own SQLite file, not the
product's database), idempotently through the product's CRM record links, the way a real
integration does. A fault switch in the store makes the next appointment write fail *after*
the contact was created — the case where a careless retry would duplicate the contact."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from apps.connectors import registry
from apps.connectors.errors import PermanentCrmError

KIND = "test_store"


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        with closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS contacts (id INTEGER PRIMARY KEY, email TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS appointments (id INTEGER PRIMARY KEY, booking_id TEXT,"
                       " action TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS faults (name TEXT PRIMARY KEY, remaining INTEGER)")

    def _connect(self):
        return sqlite3.connect(self.path, timeout=20)

    def insert(self, table: str, **values) -> int:
        with closing(self._connect()) as db, db:
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            return db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                              list(values.values())).lastrowid

    def update_appointment(self, crm_id: str, action: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("UPDATE appointments SET action = ? WHERE id = ?", [action, int(crm_id)])

    def count(self, table: str) -> int:
        with closing(self._connect()) as db:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def rows(self, table: str) -> list[tuple]:
        with closing(self._connect()) as db:
            return db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()

    def fail_next(self, name: str, times: int = 1) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO faults VALUES (?, ?)", [name, times])

    def take_fault(self, name: str) -> bool:
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT remaining FROM faults WHERE name = ?", [name]).fetchone()
            if not row or row[0] <= 0:
                return False
            db.execute("UPDATE faults SET remaining = remaining - 1 WHERE name = ?", [name])
            return True


def _store(context) -> Store:
    return Store(context.connector.settings["store_path"])


def _plan(context):
    booking = context.booking
    if booking is None:
        return []
    return [{"op": "upsert_contact", "email": booking.customer_email},
            {"op": "upsert_appointment", "booking_id": booking.booking_id,
             "action": context.event.lifecycle_action}]


def _apply(context, plan):
    store = _store(context)
    done = []
    for op in plan:
        if op["op"] == "upsert_contact":
            if context.find_link("contact") is None:
                crm_id = store.insert("contacts", email=op["email"])
                context.save_link("contact", str(crm_id))
                context.recorder(method="POST", url="store://contacts", status_code=201, duration_ms=1,
                                 request_body=op, response_body={"id": crm_id})
                done.append("contact created")
        elif op["op"] == "upsert_appointment":
            if store.take_fault("appointment"):
                context.recorder(method="POST", url="store://appointments", status_code=400,
                                 duration_ms=1, request_body=op,
                                 response_body={"message": "Appointment type is not configured"},
                                 crm_error_code="VALIDATION")
                raise PermanentCrmError("Appointment type is not configured", code="VALIDATION")
            existing = context.find_link("appointment")
            if existing is None:
                crm_id = store.insert("appointments", booking_id=op["booking_id"], action=op["action"])
                context.save_link("appointment", str(crm_id))
                done.append("appointment created")
            else:
                store.update_appointment(existing, op["action"])
                done.append("appointment updated")
    return {"done": done}


def register() -> registry.ConnectorKind:
    return registry.register(registry.SimpleKind(key=KIND, label="Test store", plan_fn=_plan,
                                                    apply_fn=_apply))
