"""Model fields whose values are encrypted in the database and never rendered back."""

from __future__ import annotations

from typing import Any

from django.db import models

from .crypto import decrypt_json, decrypt_text, encrypt_json, encrypt_text


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; Python code sees the plain string."""

    def from_db_value(self, value: str | None, expression, connection) -> str | None:
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return value
        return encrypt_text(str(value))


class EncryptedJSONField(models.TextField):
    """A JSON document (e.g. a set of CRM tokens) stored as one Fernet token."""

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        if value is None or value == "":
            return {}
        return decrypt_json(value)

    def to_python(self, value: Any) -> Any:
        return value if not isinstance(value, str) or value == "" else decrypt_json(value)

    def get_prep_value(self, value: Any) -> str:
        return encrypt_json(value or {})
