"""Admin forms that add people to an account by email (SPEC §13: administrators never pick
from the installation's users)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q

from .models import Account, Membership


def _is_member(account_id: int | None, email: str) -> bool:
    # Only this account's memberships are looked at: the answer tells nothing about other tenants.
    if not account_id or not email:
        return False
    return Membership.objects.filter(
        Q(user__email__iexact=email) | Q(user__username__iexact=email), account_id=account_id
    ).exists()


class MemberEmailForm(forms.ModelForm):
    """An email address and a role; saving goes through ``services.add_member``, not ``save()``."""

    email = forms.EmailField(
        label="Email address",
        help_text="Someone without a login gets an invitation to choose a password; someone with "
                  "one is told they were added.",
    )

    class Meta:
        model = Membership
        fields = ["email", "role"]

    def target_account_id(self) -> int | None:
        return self.instance.account_id

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if email and _is_member(self.target_account_id(), email):
            self.add_error("email", f"{email} is already a member of this account; change the role "
                                    "on their membership instead.")
        return cleaned


class AddMemberForm(MemberEmailForm):
    """The Membership add page: which account (one the user administers), who, which role."""

    class Meta(MemberEmailForm.Meta):
        fields = ["account", "email", "role"]

    def target_account_id(self) -> int | None:
        account = self.cleaned_data.get("account")
        return account.pk if isinstance(account, Account) else None


class MemberByEmailField(forms.ModelChoiceField):
    """A user foreign key typed as an email address, resolved among ``queryset`` only.

    What ``admin_scope`` offers non-superusers instead of a list of users: nothing is listed, and
    an address outside ``queryset`` (the members of their accounts) is simply not found.
    """

    widget = forms.EmailInput
    default_error_messages = {
        "invalid_choice": "No member of your accounts has this email address.",
    }

    def __init__(self, queryset, **kwargs):
        kwargs.pop("empty_label", None)
        kwargs.setdefault("help_text", "The email address of a member of your account.")
        super().__init__(queryset, empty_label=None, **kwargs)

    def prepare_value(self, value):
        if hasattr(value, "_meta"):
            return value.email
        if value in self.empty_values or (isinstance(value, str) and "@" in value):
            return value or ""
        user = self.queryset.filter(pk=value).first()
        return user.email if user is not None else ""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        user = self.queryset.filter(email__iexact=str(value).strip()).order_by("pk").first()
        if user is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return user

    def validate(self, value):
        forms.Field.validate(self, value)



class EmailLoginForm(AuthenticationForm):
    """The login form in the words people use: they sign in with their email address (a login's
    username is its email, ``services.add_member``)."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.label = "Email"
        field.widget.attrs.update({"autocomplete": "username", "inputmode": "email",
                                   "autocapitalize": "none", "spellcheck": "false"})
        self.error_messages["invalid_login"] = (
            "That email and password do not match a Bookbridge login. Passwords are case-sensitive.")
