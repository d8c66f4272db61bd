"""Owner mapping: booking page owners (scheduling users) ↔ CRM users of one connector.

Interface (used by the wizard, by planners and by settings_io)::

    crm_users(connector) -> [{"id": str, "email": str, "name": str}]   # ConnectorKind.list_crm_users
    auto_match(connector, users=None) -> int        # rows created/filled by email (case-insensitive);
                                                    # never overwrites a mapping someone chose
    crm_user_for(connector, scheduling_user_external_id) -> str | None   # the saved mapping
    resolve_owner(connector, external_id, crm_users=..., owner_email="", mapped=UNREAD)
                                       # the one rule planners use: mapping, else same email
    mapping_dict(connector) -> {"USR-…": "crm id"}                       # one query, for planners
    set_mapping(connector, external_id, crm_user_id, label="", email="") -> OwnerMapping

Scheduling users come from ``apps.directory`` (learned from webhooks, editable in admin).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.db import transaction

from apps.directory.models import SchedulingUser

from . import registry
from .forms import CrmChoiceField
from .models import Connector, OwnerMapping


def crm_users(connector: Connector) -> list[dict[str, str]]:
    kind = registry.get(connector.kind)
    if kind is None or not kind.maps_owners:
        return []
    return [
        {"id": str(u.get("id", "")), "email": str(u.get("email") or ""), "name": str(u.get("name") or "")}
        for u in kind.list_crm_users(connector)
    ]


def _label(user: dict[str, str]) -> str:
    return f"{user['name']} <{user['email']}>" if user.get("email") else user.get("name", "")


def auto_match(connector: Connector, users: list[dict[str, str]] | None = None) -> int:
    """Create a mapping row for every scheduling user; fill empty ones by matching email.

    The CRM's users are read first, with no transaction open (SPEC §13), then matched in one.
    """
    users = crm_users(connector) if users is None else users
    return _match_by_email(connector, users)


@transaction.atomic
def _match_by_email(connector: Connector, users: list[dict[str, str]]) -> int:
    by_email = {u["email"].lower(): u for u in users if u.get("email")}
    changed = 0
    for person in SchedulingUser.objects.filter(account_id=connector.account_id):
        mapping, created = OwnerMapping.objects.get_or_create(connector=connector, scheduling_user=person)
        if mapping.crm_user_id:
            continue
        match = by_email.get((person.email or "").lower())
        if match:
            mapping.crm_user_id = match["id"]
            mapping.crm_user_label = _label(match)
            mapping.matched_by_email = True
            mapping.save()
            changed += 1
        elif created:
            changed += 1
    return changed


def is_done(connector: Connector) -> bool:
    """Owner mapping is done once a scheduling user is mapped to a CRM user, or when the
    account has no scheduling user yet (nothing to map: they are learned from bookings)."""
    if not SchedulingUser.objects.filter(account_id=connector.account_id).exists():
        return True
    return connector.owner_mappings.exclude(crm_user_id="").exists()


def mapping_dict(connector: Connector) -> dict[str, str]:
    return dict(
        OwnerMapping.objects.filter(connector=connector)
        .exclude(crm_user_id="")
        .values_list("scheduling_user__external_id", "crm_user_id")
    )


def crm_user_for(connector: Connector, external_id: str) -> str | None:
    """``mapping_dict(connector).get(external_id)``, reading only that owner's row."""
    if not external_id:
        return None
    return (
        OwnerMapping.objects.filter(connector=connector, scheduling_user__external_id=external_id)
        .exclude(crm_user_id="")
        .order_by("-pk")
        .values_list("crm_user_id", flat=True)
        .first()
    )


#: ``resolve_owner``'s ``mapped`` when the caller has not read the owner's mapping.
UNREAD: Any = object()


def resolve_owner(connector: Connector, external_id: str, *, crm_users: Callable[[], list[dict[str, str]]],
                  owner_email: str = "", mapped: Any = UNREAD) -> str | None:
    """The booking owner's CRM user id — one rule for every CRM.

    1. The mapping an administrator saved (Step "Owner mapping"), ``mapped`` when the caller read
       it already (its ``crm_user_id`` or None).
    2. Else the CRM user with the owner's email (``owner_email``, else the scheduling user's).

    Reads only: planning never writes rows, so the match by email is not saved; the owner
    mapping page proposes it (``auto_match``) for an administrator to keep. ``crm_users`` is the
    kind's cached user list (``[{"id", "email", "name"}]``), called only when an email is needed.
    """
    if not external_id and not owner_email:
        return None
    if mapped is UNREAD:
        mapped = crm_user_for(connector, external_id)
    if mapped:
        return str(mapped)
    email = (owner_email or "").lower()
    if not email and external_id:
        email = (SchedulingUser.objects.filter(account_id=connector.account_id, external_id=external_id)
                 .values_list("email", flat=True).first() or "").lower()
    if not email:
        return None
    return next((str(u["id"]) for u in crm_users() if (u.get("email") or "").lower() == email), None)


def set_mapping(
    connector: Connector, external_id: str, crm_user_id: str, label: str = "", email: str = ""
) -> OwnerMapping:
    person, _ = SchedulingUser.objects.get_or_create(
        account_id=connector.account_id, external_id=external_id, defaults={"email": email}
    )
    mapping, _ = OwnerMapping.objects.update_or_create(
        connector=connector,
        scheduling_user=person,
        defaults={"crm_user_id": crm_user_id, "crm_user_label": label, "matched_by_email": False},
    )
    return mapping


class OwnerMappingForm(forms.Form):
    mapping_id = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, user_choices=(), mapping_ids=frozenset(), crm="the CRM", **kwargs):
        super().__init__(*args, **kwargs)
        # An id the CRM does not list is a field error on its row, in words: nothing is saved.
        # Rendered field by field in a table (templates/connectors/wizard_owners.html), not by
        # crispy forms, so the Bootstrap class is set here.
        self.fields["crm_user_id"] = CrmChoiceField(
            label="CRM user", required=False, crm=crm, offers="user",
            choices=[("", "— not mapped —"), *user_choices],
            widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
        self.mapping_ids = mapping_ids

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and "crm_user_id" in self.errors:
            self.fields["crm_user_id"].widget.attrs["class"] = "form-select form-select-sm is-invalid"

    def clean_mapping_id(self) -> int:
        """Each row names one of this connector's mappings (the page lists them): anything else
        is an error on the row, never silently skipped."""
        value = self.cleaned_data["mapping_id"]
        if value not in self.mapping_ids:
            raise forms.ValidationError("This row is not one of this connector's owner mappings; "
                                        "reload the page and try again.")
        return value


class BaseOwnerMappingFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        seen: set[int] = set()
        for form in self.forms:
            mapping_id = (getattr(form, "cleaned_data", None) or {}).get("mapping_id")
            if mapping_id in seen:
                form.add_error("mapping_id", "This booking page owner is listed twice; reload the page.")
            seen.add(mapping_id)


def formset(connector: Connector, users: list[dict[str, str]], data=None):
    rows = list(OwnerMapping.objects.filter(connector=connector).select_related("scheduling_user"))
    choices = [(u["id"], _label(u)) for u in users]
    known = {c[0] for c in choices}
    initial = [{"mapping_id": r.pk, "crm_user_id": r.crm_user_id} for r in rows]
    # As many forms as rows: a post with more is an error of the form set, not extra work.
    formset_class = forms.formset_factory(OwnerMappingForm, formset=BaseOwnerMappingFormSet, extra=0,
                                          max_num=len(rows), absolute_max=len(rows), validate_max=True)
    fs = formset_class(data, initial=initial,
                       form_kwargs={"user_choices": choices, "mapping_ids": frozenset(r.pk for r in rows),
                                    "crm": connector.kind_label})
    for form, row in zip(fs.forms, rows, strict=False):
        form.row = row
        form.fields["crm_user_id"].label = str(row.scheduling_user)  # "choose another user for “Sam”"
        if row.crm_user_id and row.crm_user_id not in known:
            # A mapping to a user the CRM no longer lists stays visible (and may be kept) on its
            # own row only: no other row may pick that id.
            form.fields["crm_user_id"].choices = [
                *form.fields["crm_user_id"].choices, (row.crm_user_id, row.crm_user_label or row.crm_user_id)]
    return fs


@transaction.atomic
def save_formset(connector: Connector, fs, users: list[dict[str, str]]) -> None:
    labels = {u["id"]: _label(u) for u in users}
    for form in fs.forms:
        mapping = OwnerMapping.objects.get(connector=connector, pk=form.cleaned_data["mapping_id"])
        chosen = form.cleaned_data.get("crm_user_id") or ""
        if chosen != mapping.crm_user_id:
            mapping.crm_user_id = chosen
            mapping.crm_user_label = labels.get(chosen, chosen)
            mapping.matched_by_email = False
            mapping.save()


def export_rows(connector: Connector) -> list[dict[str, Any]]:
    return [
        {
            "scheduling_user": m.scheduling_user.external_id,
            "email": m.scheduling_user.email,
            "crm_user_id": m.crm_user_id,
        }
        for m in OwnerMapping.objects.filter(connector=connector).select_related("scheduling_user")
        if m.crm_user_id
    ]
