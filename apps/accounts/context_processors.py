from apps.accounts.selectors import accounts_for


def memberships(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"bookbridge_accounts": accounts_for(user)}
