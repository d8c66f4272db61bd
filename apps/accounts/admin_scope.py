"""Tenant isolation for Django admin.

Every ModelAdmin of account-owned rows inherits ``AccountScopedAdmin``: querysets are filtered
to the user's accounts, foreign-key choices too, and each permission is granted by the user's
role in the row's account (superusers see everything).
"""

from __future__ import annotations

from django.contrib import admin

from .selectors import account_ids_for, administered_account_ids, role_in

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"


class AccountScopedAdmin(admin.ModelAdmin):
    #: Path from the model to its Account, e.g. "account" or "connector__account".
    account_path = "account"
    #: What each role may do with rows of its own account.
    staff_permissions: frozenset[str] = frozenset({VIEW})
    administrator_permissions: frozenset[str] = frozenset({VIEW})

    # --- rows ----------------------------------------------------------------------------
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.account_path}__in": account_ids_for(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if request.user.is_superuser or formfield is None:
            return formfield
        related = db_field.related_model
        allowed = administered_account_ids(request.user)
        if related._meta.label == "accounts.Account":
            formfield.queryset = formfield.queryset.filter(id__in=allowed)
        elif any(f.name == "account" for f in related._meta.get_fields()):
            formfield.queryset = formfield.queryset.filter(account_id__in=allowed)
        return formfield

    # --- permissions ---------------------------------------------------------------------
    def _account_id_of(self, obj) -> int:
        target = obj
        for part in self.account_path.split("__"):
            target = getattr(target, part)
        return target.id

    def _granted(self, request, action: str, obj=None) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        if obj is None:
            roles = {role_in(user, account_id) for account_id in account_ids_for(user)}
        else:
            roles = {role_in(user, self._account_id_of(obj))}
        allowed = set()
        if "staff" in roles:
            allowed |= self.staff_permissions
        if "admin" in roles:
            allowed |= self.administrator_permissions
        return action in allowed

    def has_module_permission(self, request) -> bool:
        return self._granted(request, VIEW)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._granted(request, VIEW, obj) or self._granted(request, CHANGE, obj)

    def has_add_permission(self, request) -> bool:
        return self._granted(request, ADD)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._granted(request, CHANGE, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._granted(request, DELETE, obj)


class ReadOnlyScopedAdmin(AccountScopedAdmin):
    """Operational records: written by the system, read by people."""

    staff_permissions = frozenset({VIEW})
    administrator_permissions = frozenset({VIEW})


# Filters that list only the accounts / connectors of rows the user can see.
ACCOUNT_FILTER = ("account", admin.RelatedOnlyFieldListFilter)
CONNECTOR_FILTER = ("connector", admin.RelatedOnlyFieldListFilter)
