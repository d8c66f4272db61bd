from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .models import Role
from .permissions import account_view
from .selectors import accounts_for
from .services import reveal_webhook_secret, rotate_webhook_secret_by

#: Where the account page lives (``apps.connectors``, a layer above: named, not imported).
ACCOUNT_PAGE = "connectors:account"


@login_required
def home(request):
    return render(request, "accounts/home.html", {"accounts": accounts_for(request.user)})


@never_cache
@require_POST
@account_view(role=Role.ADMINISTRATOR)
def reveal_secret(request, account):
    """Show the OnceHub signing secret once (this answer only, never cached), with a copy
    button; a second reveal is refused until the secret is rotated."""
    secret = reveal_webhook_secret(account=account, user=request.user)
    if secret is None:
        messages.error(request, "The signing secret was already revealed once, so it stays hidden. "
                                "Rotate the secret to get a new one you can reveal.")
        return redirect(ACCOUNT_PAGE, account.slug)
    return render(request, "accounts/webhook_secret.html", {"account": account, "secret": secret})


@require_POST
@account_view(role=Role.ADMINISTRATOR)
def rotate_secret(request, account):
    rotate_webhook_secret_by(account=account, user=request.user)
    hours = settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS
    messages.success(request, "A new signing secret was made. Reveal it once and enter it in "
                              f"OnceHub; the previous one keeps working for {hours} hours meanwhile.")
    return redirect(ACCOUNT_PAGE, account.slug)
