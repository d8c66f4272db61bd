"""Role checks for views: a decorator that resolves the account from the URL and enforces roles."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Account, Role
from .selectors import role_in


def account_view(*, role: str = Role.STAFF):
    """Resolve ``account_slug`` into ``account`` and require at least ``role`` in it.

    Members of other accounts get a 404 (they must not learn that the account exists); staff
    asking for an administrator's page get a 403.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, account_slug: str, *args, **kwargs):
            account = get_object_or_404(Account, slug=account_slug)
            user_role = Role.ADMINISTRATOR if request.user.is_superuser else role_in(
                request.user, account.id
            )
            if user_role is None:
                raise Http404("No such account.")
            if role == Role.ADMINISTRATOR and user_role != Role.ADMINISTRATOR:
                raise PermissionDenied("Only administrators of this account can do this.")
            request.account_role = user_role
            return view(request, account, *args, **kwargs)

        return wrapper

    return decorator
