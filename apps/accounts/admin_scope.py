"""Tenant isolation for Django admin.

Every ModelAdmin of account-owned rows inherits ``AccountScopedAdmin``: querysets are filtered
to the user's accounts, relation choices too (``TenantChoicesMixin``, also for inlines), and each
permission is granted by the user's role in the row's account (superusers see everything).

Actions that change something are declared ``@admin.action(permissions=["administer"])``:
Django offers them only where ``has_administer_permission`` is true (users who administer an
account), and a forged POST of one is refused with a message (``changelist_view``); the action
itself still checks every selected row's account (``admin_tools.administrators_only``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import models
from django.http import HttpResponseRedirect
from django.utils.text import capfirst

from .forms import MemberByEmailField
from .selectors import account_ids_for, administered_account_ids, members_of_accounts, role_in

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"


class TenantChoicesMixin:
    """Choices of relation fields for non-superusers: only their own accounts' rows.

    For ModelAdmins and inlines alike. A foreign key to the user model is never a list: it
    becomes an email field resolved among the members of the accounts the user administers
    (SPEC §13, administrators never pick from the installation's users). Accounts are those the
    user administers; rows of account-owned models those of these accounts.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if (
            isinstance(db_field, models.ForeignKey)
            and _is_user_model(db_field.related_model)
            and not request.user.is_superuser
        ):
            # Returned before the admin wraps it in "add / change related" links to the user admin.
            return MemberByEmailField(
                queryset=members_of_accounts(administered_account_ids(request.user)),
                required=not db_field.blank,
                label=capfirst(db_field.verbose_name),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return _scoped(super().formfield_for_foreignkey(db_field, request, **kwargs), db_field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return _scoped(super().formfield_for_manytomany(db_field, request, **kwargs), db_field, request)


def _is_user_model(model) -> bool:
    return model is not None and model._meta.label == get_user_model()._meta.label


def _scoped(formfield, db_field, request):
    if request.user.is_superuser or formfield is None:
        return formfield
    related = db_field.related_model
    allowed = administered_account_ids(request.user)
    if related._meta.label == "accounts.Account":
        formfield.queryset = formfield.queryset.filter(id__in=allowed)
    elif _is_user_model(related):
        formfield.queryset = formfield.queryset.filter(memberships__account_id__in=allowed).distinct()
    elif any(f.name == "account" for f in related._meta.get_fields()):
        formfield.queryset = formfield.queryset.filter(account_id__in=allowed)
    return formfield


class AccountScopedAdmin(TenantChoicesMixin, admin.ModelAdmin):
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

    def has_administer_permission(self, request) -> bool:
        """May run the actions marked ``permissions=["administer"]``: administers an account."""
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return user.is_superuser or bool(administered_account_ids(user))

    # --- actions -------------------------------------------------------------------------
    def declared_action_names(self) -> set[str]:
        """Every action of this page, offered to this user or not."""
        return {action if isinstance(action, str) else action.__name__ for action in self.actions or ()}

    def changelist_view(self, request, extra_context=None):
        """An action the page did not offer this user (a forged POST) gets a message, not
        Django's "No action selected." or a silent reload."""
        action = request.POST.get("action", "") if request.method == "POST" else ""
        if action in self.declared_action_names() and action not in self.get_actions(request):
            self.message_user(request, "Only administrators of the account can run this action. "
                                       "Nothing was done.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().changelist_view(request, extra_context)


class ReadOnlyScopedAdmin(AccountScopedAdmin):
    """Operational records: written by the system, read by people."""

    staff_permissions = frozenset({VIEW})
    administrator_permissions = frozenset({VIEW})


# Filters that list only the accounts / connectors of rows the user can see.
ACCOUNT_FILTER = ("account", admin.RelatedOnlyFieldListFilter)
CONNECTOR_FILTER = ("connector", admin.RelatedOnlyFieldListFilter)
