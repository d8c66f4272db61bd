"""Accounts, memberships and webhook secrets in Django admin.

People are added to an account by email and role (``services.add_member``), on the Membership
add page or in the account page's "Add a member" rows; no form lists the installation's users,
the answer is the same whether the address already had a login, and a membership never moves
to another account.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse

from .admin_scope import ADD, CHANGE, DELETE, VIEW, AccountScopedAdmin, TenantChoicesMixin
from .forms import AddMemberForm, MemberEmailForm
from .models import Account, FailedSignIn, Membership, Role, SignInLockout, SignInLog, WebhookSecret
from .selectors import administered_account_ids, is_administrator_of
from .services import add_member


@admin.display(description="member", ordering="user__email")
def member_email(membership: Membership) -> str:
    return membership.user.email or membership.user.get_username()


def added_message(email: str, membership: Membership) -> str:
    """The one answer to an addition, whether or not the address already had a login."""
    return (f"{email} is now {membership.get_role_display()} of {membership.account.name}; "
            "they were sent an email about it.")


class _AdministeredAccountInline(TenantChoicesMixin):
    """Inline permissions from the user's role in the account being edited (``obj``)."""

    def _administers(self, request, obj) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        if obj is None:
            # Django asks without the account too (InlineModelAdmin.get_queryset); the rows are
            # those of the account on the page, which AccountAdmin only shows to its administrators.
            return bool(administered_account_ids(user))
        return is_administrator_of(user, obj.pk)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._administers(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._administers(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._administers(request, obj)

    def has_add_permission(self, request, obj) -> bool:
        return self._administers(request, obj)


class MembershipInline(_AdministeredAccountInline, admin.TabularInline):
    """The account's members: who (read-only), role (editable), removal."""

    model = Membership
    extra = 0
    fields = [member_email, "role"]
    readonly_fields = [member_email]
    ordering = ["user__email"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request, obj) -> bool:
        return False  # new members come through NewMemberInline, by email


class NewMemberFormSet(BaseInlineFormSet):
    """Rows that add members by email: saved through ``add_member``, never ``form.save()``."""

    #: Set per request by ``NewMemberInline.get_formset``.
    invited_by = None

    def save(self, commit: bool = True) -> list[Membership]:
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.forms:
            if not form.has_changed() or (self.can_delete and self._should_delete_form(form)):
                continue
            membership, _ = add_member(
                account=self.instance, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
                notify=True, invited_by=self.invited_by,
            )
            self.new_objects.append(membership)
        return self.new_objects


class NewMemberInline(_AdministeredAccountInline, admin.TabularInline):
    model = Membership
    form = MemberEmailForm
    formset = NewMemberFormSet
    fields = ["email", "role"]
    extra = 1
    can_delete = False
    verbose_name = "new member"
    verbose_name_plural = "Add members by email"

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"invited_by": request.user})


@admin.register(Account)
class AccountAdmin(AccountScopedAdmin):
    account_path = "id"
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline, NewMemberInline]
    administrator_permissions = frozenset({VIEW, CHANGE})

    def _account_id_of(self, obj) -> int:
        return obj.id

    def get_inlines(self, request, obj):
        return self.inlines if self.has_change_permission(request, obj) else []


@admin.register(Membership)
class MembershipAdmin(AccountScopedAdmin):
    list_display = [member_email, "account", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__username", "account__slug"]
    list_select_related = ["user", "account"]
    administrator_permissions = frozenset({VIEW, ADD, CHANGE, DELETE})

    # Adding: account (one the user administers, see TenantChoicesMixin), email, role.
    # Changing: only the role; the person and the account are fixed.
    def get_fields(self, request, obj=None):
        return ["account", "email", "role"] if obj is None else [member_email, "account", "role"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [member_email, "account"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AddMemberForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("role", Role.STAFF)
        administered = administered_account_ids(request.user)
        if not request.user.is_superuser and len(administered) == 1:
            initial.setdefault("account", next(iter(administered)))
        return initial

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        membership, _ = add_member(
            account=form.cleaned_data["account"], email=form.cleaned_data["email"],
            role=form.cleaned_data["role"], notify=True, invited_by=request.user,
        )
        # The admin logs and redirects with ``obj``: make it the saved membership.
        obj.pk, obj.user, obj.created_at = membership.pk, membership.user, membership.created_at
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        # Django's own message names the stored user; this one only repeats what was typed.
        self.message_user(request, added_message(request.POST.get("email", "").strip(), obj),
                          messages.SUCCESS)
        if "_continue" in request.POST:
            return HttpResponseRedirect(reverse("admin:accounts_membership_change", args=[obj.pk]))
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.path)
        return self.response_post_save_add(request, obj)


@admin.register(WebhookSecret)
class WebhookSecretAdmin(AccountScopedAdmin):
    """Shows that secrets exist and when they expire; the secret itself is never rendered."""

    list_display = ["account", "created_at", "expires_at"]
    fields = ["account", "created_at", "expires_at"]
    readonly_fields = ["account", "created_at", "expires_at"]
    list_select_related = ["account"]
    staff_permissions = frozenset()
    administrator_permissions = frozenset({VIEW})


# django-axes' own pages, on proxies that name their rows in words (settings: AXES_ENABLE_ADMIN).
admin.site.register(SignInLockout, AccessAttemptAdmin)
admin.site.register(SignInLog, AccessLogAdmin)
admin.site.register(FailedSignIn, AccessFailureLogAdmin)
